//! Writing a whole file so that nobody ever reads half of it.

use std::path::Path;

use crate::PipelineError;

/// Writes through a temporary file and a rename, so that an interruption never leaves a
/// truncated file that a later run (or a reader: a mail job, a web server) would take for
/// complete.
///
/// # Errors
///
/// [`PipelineError::Io`] naming the file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    // Hidden, so that no reader takes a leftover for a log file.
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.part"));
    std::fs::write(&temporary, bytes).map_err(PipelineError::io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(PipelineError::io(&temporary))?;
    Ok(())
}
