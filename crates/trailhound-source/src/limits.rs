/// Guards that keep one hostile or broken object from exhausting memory.
///
/// Memory held by a read is bounded by about `threads × 3 × max_inflated_bytes` in the worst
/// case and, for real CloudTrail files (kilobytes to a few megabytes each), stays at a few
/// megabytes per thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most bytes one object may inflate to. CloudTrail's own files are far smaller; the
    /// cap exists to stop decompression bombs.
    pub max_inflated_bytes: u64,
    /// The largest single record accepted. CloudTrail records are rarely over 100 KB.
    pub max_record_bytes: usize,
}

impl ReadLimits {
    /// Default inflated-size cap: 1 GiB.
    pub const DEFAULT_MAX_INFLATED: u64 = 1 << 30;
    /// Default record-size cap: 64 MiB.
    pub const DEFAULT_MAX_RECORD: usize = 64 << 20;
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_inflated_bytes: Self::DEFAULT_MAX_INFLATED,
            max_record_bytes: Self::DEFAULT_MAX_RECORD,
        }
    }
}
