//! Sigma: detections, conditions and correlations.

pub mod condition;
pub mod correlation;
pub mod detection;
