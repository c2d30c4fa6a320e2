//! How surprising a count is: the upper tail of the Poisson distribution, in logarithms so
//! that the tiny probabilities of real bursts neither underflow nor lose precision.

/// `ln P(X ≥ count)` for `X ~ Poisson(rate)`.
///
/// Counts at or below the rate are never surprising; 0 (probability one) is returned for
/// them rather than the exact tail, which the detector never needs.
pub(crate) fn ln_upper_tail(count: u64, rate: f64) -> f64 {
    if count == 0 || count as f64 <= rate {
        return 0.0;
    }
    if rate <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let first = -rate + count as f64 * rate.ln() - ln_factorial(count);
    // The terms after the first fall geometrically (rate / k < 1), so the sum converges fast.
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = count;
    while term > 1e-16 * sum {
        k += 1;
        term *= rate / k as f64;
        sum += term;
    }
    first + sum.ln()
}

/// `ln n!`: exact sums for small `n`, Stirling's series beyond.
fn ln_factorial(n: u64) -> f64 {
    if n < 128 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let n = n as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n * n * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_direct_sums() {
        // P(X ≥ 3 | 1) = 1 - e^-1 (1 + 1 + 1/2)
        let exact = 1.0 - (-1.0f64).exp() * 2.5;
        assert!((ln_upper_tail(3, 1.0) - exact.ln()).abs() < 1e-9);
        // P(X ≥ 5 | 0.01) ≈ 0.01^5 / 120
        let approx = (0.01f64.powi(5) / 120.0).ln();
        assert!((ln_upper_tail(5, 0.01) - approx).abs() < 0.01);
        assert_eq!(ln_upper_tail(2, 3.0), 0.0);
        assert_eq!(ln_upper_tail(1, 0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn stirling_joins_the_exact_sum() {
        let exact: f64 = (2..=200u64).map(|k| (k as f64).ln()).sum();
        assert!((ln_factorial(200) - exact).abs() < 1e-9);
    }

    #[test]
    fn large_rates_stay_finite() {
        let tail = ln_upper_tail(1500, 1000.0);
        assert!(tail.is_finite() && tail < -40.0, "{tail}");
        let near = ln_upper_tail(1010, 1000.0);
        assert!(near > -2.0 && near < 0.0, "{near}");
    }
}
