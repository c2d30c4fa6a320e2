//! Waking early: a file landing in a followed folder starts the next poll at once instead of
//! at the end of the interval. Without folders, or where the system refuses to watch
//! (inotify limits), waiting is plain polling.

use std::path::PathBuf;
use std::time::Duration;

/// File-system events in followed folders.
pub(super) struct FolderEvents {
    _watcher: Option<notify::RecommendedWatcher>,
    /// Kept so that the channel stays open (and waiting waits) when nothing is watched.
    _sender: crossbeam_channel::Sender<()>,
    events: crossbeam_channel::Receiver<()>,
}

impl FolderEvents {
    pub(super) fn watch(folders: &[PathBuf]) -> FolderEvents {
        let (tx, events) = crossbeam_channel::unbounded();
        let sender = tx.clone();
        let watcher = if folders.is_empty() {
            None
        } else {
            let made = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| e.kind.is_create() || e.kind.is_modify()) {
                    let _ = tx.send(());
                }
            });
            match made {
                Ok(mut watcher) => {
                    use notify::Watcher;
                    for folder in folders {
                        if let Err(err) = watcher.watch(folder, notify::RecursiveMode::Recursive) {
                            tracing::warn!(
                                "cannot watch {} for new files ({err}); it is polled every --interval",
                                folder.display()
                            );
                        }
                    }
                    Some(watcher)
                }
                Err(err) => {
                    tracing::warn!(
                        "cannot watch folders for new files ({err}); they are polled every --interval"
                    );
                    None
                }
            }
        };
        FolderEvents {
            _watcher: watcher,
            _sender: sender,
            events,
        }
    }

    /// Waits `timeout`, or less if files land; then a quiet half second, so that a burst of
    /// files (a sync copying a day) is taken in one poll.
    pub(super) fn wait(&self, timeout: Duration) {
        if self.events.recv_timeout(timeout).is_ok() {
            while self.events.recv_timeout(Duration::from_millis(500)).is_ok() {}
        }
    }
}
