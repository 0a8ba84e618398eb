//! The rate limiter's bucket shared by every provider process of one account, region and
//! product on this machine: a small JSON file under the user's cache directory, read and
//! rewritten under an advisory lock (the standard library's `File::try_lock`: `flock` on Unix,
//! `LockFileEx` on Windows). A lock dies with its process; a file that does not parse (torn by
//! a kill mid-write, another format, too old) is rebuilt; a lock not had within a few
//! milliseconds leaves the caller to its own copy of the bucket rather than blocking it.

use std::any::Any;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use crate::alicloud::settings::Environment;

/// The directory under the cache directory; the buckets are in its `ratelimit/`.
pub const CACHE_SUBDIR: &str = "terraform-provider-alicloud";

/// Environment variable switching the shared bucket off (`false`, `0`, `off` or `no`).
pub const ENV_SHARE: &str = "ALICLOUD_SHARE_RATE_LIMIT";

/// How long what the buckets learnt outlives the processes: a run started within this time
/// begins at the learnt rate instead of bursting into a quota already known.
pub const KEEP: f64 = 600.0;

/// Tries to take the lock this many times, [`LOCK_PAUSE`] apart, before using the local copy.
const LOCK_TRIES: u32 = 10;
const LOCK_PAUSE: Duration = Duration::from_micros(200);

/// The file of one bucket, kept open for the life of the process.
#[derive(Debug)]
pub(crate) struct SharedFile {
    path: PathBuf,
    file: File,
    /// Set after the first failure to read or write it, so the logs say it once.
    warned: AtomicBool,
    /// What [`SharedFile::load_memo`] last parsed, and the file's length and modification
    /// time then.
    memo: Mutex<Option<Memo>>,
}

type Memo = (u64, Option<SystemTime>, Arc<dyn Any + Send + Sync>);

/// `$XDG_CACHE_HOME` (or `~/.cache`) on Unix, `%LOCALAPPDATA%` on Windows.
pub fn cache_dir(env: &Environment) -> Option<PathBuf> {
    let var = |name: &str| env.var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        var("LOCALAPPDATA")
    } else {
        var("XDG_CACHE_HOME").or_else(|| env.home().map(|h| h.join(".cache")))
    }
}

/// Whether `value` (of the argument or the variable) switches sharing off or on.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Some(true),
        "false" | "0" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// The file name of a bucket: a hash of the account, region, product and ceiling, so nothing
/// secret (nor even the AccessKeyId) is written in clear.
pub(crate) fn file_name(account: &str, region: &str, product: &str, ceiling: f64) -> String {
    let digest = Sha256::digest(format!("{account}\n{region}\n{product}\n{ceiling}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

impl SharedFile {
    /// Opens (creating it and its directory) the bucket file `name` under `dir`.
    pub(crate) fn open(dir: &Path, name: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        Ok(Self {
            path,
            file,
            warned: AtomicBool::new(false),
            memo: Mutex::new(None),
        })
    }

    fn warn_once(&self, what: &str, e: &dyn std::fmt::Display) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                path = %self.path.display(),
                error = %e,
                "file shared with the machine's other provider processes: {what}; this process keeps to itself meanwhile"
            );
        }
    }

    fn try_lock(&self) -> bool {
        for i in 0..LOCK_TRIES {
            match self.file.try_lock() {
                Ok(()) => return true,
                Err(TryLockError::WouldBlock) => {
                    if i + 1 < LOCK_TRIES {
                        std::thread::sleep(LOCK_PAUSE);
                    }
                }
                Err(TryLockError::Error(e)) => {
                    self.warn_once("cannot lock it", &e);
                    return false;
                }
            }
        }
        tracing::debug!(path = %self.path.display(), "file shared with the machine's other provider processes is busy: this process keeps to itself for one call");
        false
    }

    /// Runs `f` on the state `load` makes of what is stored (`None` when nothing usable is:
    /// missing, torn, another format), and stores the result. `None` without calling either
    /// when the lock could not be had in time.
    pub(crate) fn with<T: Serialize + DeserializeOwned, R>(
        &self,
        load: impl FnOnce(Option<T>) -> T,
        f: impl FnOnce(&mut T) -> R,
    ) -> Option<R> {
        if !self.try_lock() {
            return None;
        }
        let mut state = load(self.read());
        let r = f(&mut state);
        if let Err(e) = self.write(&state) {
            self.warn_once("cannot write it", &e);
        }
        if let Err(e) = self.file.unlock() {
            self.warn_once("cannot unlock it", &e);
        }
        Some(r)
    }

    /// What the file holds, read under the lock (`None` when the lock cannot be had in time or
    /// the file does not parse: empty, torn, another format), parsed again only when its length or
    /// modification time changed since the last call: processes waiting for another's listing
    /// look at it often, and the listing of a big region is large. (A change that kept both
    /// would leave the caller with what the file held before: older, never wrong.)
    pub(crate) fn load_memo<T: DeserializeOwned + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if !self.try_lock() {
            return None;
        }
        let stamp = self
            .file
            .metadata()
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        let kept = match (&*memo, stamp) {
            (Some((len, at, value)), Some(now)) if (*len, *at) == now => {
                value.clone().downcast::<T>().ok()
            }
            _ => None,
        };
        let state = kept.or_else(|| {
            let state = Arc::new(self.read::<T>()?);
            *memo = stamp.map(|(len, at)| (len, at, state.clone() as Arc<dyn Any + Send + Sync>));
            Some(state)
        });
        if let Err(e) = self.file.unlock() {
            self.warn_once("cannot unlock it", &e);
        }
        state
    }

    /// Under the lock, replaces what the file holds with what `f` makes of it, unless `f`
    /// answers `None` (then the file is left as it was).
    pub(crate) fn store_if<T: Serialize + DeserializeOwned>(
        &self,
        f: impl FnOnce(Option<T>) -> Option<T>,
    ) {
        if !self.try_lock() {
            return;
        }
        if let Some(state) = f(self.read())
            && let Err(e) = self.write(&state)
        {
            self.warn_once("cannot write it", &e);
        }
        if let Err(e) = self.file.unlock() {
            self.warn_once("cannot unlock it", &e);
        }
    }

    fn read<T: DeserializeOwned>(&self) -> Option<T> {
        let mut text = String::new();
        let mut f = &self.file;
        f.seek(SeekFrom::Start(0)).ok()?;
        f.read_to_string(&mut text).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write<T: Serialize>(&self, state: &T) -> std::io::Result<()> {
        let text = serde_json::to_string(state).map_err(std::io::Error::other)?;
        let mut f = &self.file;
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use crate::alicloud::rpc::shared_bucket::{SharedFile, file_name, parse_switch};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct State {
        v: u32,
        rate: f64,
    }

    fn load(stored: Option<State>) -> State {
        stored
            .filter(|s| s.v == 1)
            .unwrap_or(State { v: 1, rate: 50.0 })
    }

    #[test]
    fn the_file_name_hides_the_account() {
        let n = file_name("LTAI5tSecretishKeyId", "cn-hangzhou", "VPC", 200.0);
        assert!(!n.contains("LTAI"), "{n}");
        assert_eq!(n.len(), 32 + ".json".len());
        assert_ne!(n, file_name("LTAI5tOther", "cn-hangzhou", "VPC", 200.0));
        assert_ne!(
            n,
            file_name("LTAI5tSecretishKeyId", "cn-beijing", "VPC", 200.0)
        );
        assert_ne!(
            n,
            file_name("LTAI5tSecretishKeyId", "cn-hangzhou", "STS", 200.0)
        );
    }

    #[test]
    fn a_torn_or_foreign_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let name = "b.json";
        for junk in [
            &b"{\"v\":1,\"rate\":12.5,\"tok"[..],
            b"",
            b"\xff\xfe not json",
            b"{\"v\":99,\"rate\":1}",
        ] {
            std::fs::write(dir.path().join(name), junk).unwrap();
            let f = SharedFile::open(dir.path(), name).unwrap();
            let rate = f.with(load, |s| s.rate).unwrap();
            assert_eq!(rate, 50.0);
            let stored: State =
                serde_json::from_slice(&std::fs::read(dir.path().join(name)).unwrap()).unwrap();
            assert_eq!(stored, State { v: 1, rate: 50.0 });
        }
    }

    #[test]
    fn what_one_handle_stores_the_next_reads() {
        let dir = tempfile::tempdir().unwrap();
        let a = SharedFile::open(dir.path(), "b.json").unwrap();
        a.with(load, |s| s.rate = 12.5).unwrap();
        // A shorter state after a longer one leaves no tail behind.
        a.with(load, |s| s.rate = 4.0).unwrap();
        drop(a);
        let b = SharedFile::open(dir.path(), "b.json").unwrap();
        assert_eq!(b.with(load, |s| s.rate).unwrap(), 4.0);
    }

    #[test]
    fn a_memo_serves_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let a = SharedFile::open(dir.path(), "memo.json").unwrap();
        let b = SharedFile::open(dir.path(), "memo.json").unwrap();
        b.with(load, |s| s.rate = 10.0).unwrap();
        let first = a.load_memo::<State>().unwrap();
        assert_eq!(first.rate, 10.0);
        let again = a.load_memo::<State>().unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again), "parsed again");
        b.with(load, |s| s.rate = 12.25).unwrap();
        assert_eq!(a.load_memo::<State>().unwrap().rate, 12.25);
        std::fs::write(dir.path().join("memo.json"), "{torn").unwrap();
        assert!(a.load_memo::<State>().is_none());
    }

    #[test]
    fn a_held_lock_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let a = SharedFile::open(dir.path(), "b.json").unwrap();
        let other = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.path().join("b.json"))
            .unwrap();
        other.lock().unwrap();
        let mut called = false;
        assert!(a.with(load, |_| called = true).is_none());
        assert!(!called);
        // A lock dies with its holder (here, its file handle).
        drop(other);
        assert!(a.with(load, |_| ()).is_some());
    }

    #[test]
    fn switch_values() {
        assert_eq!(parse_switch("false"), Some(false));
        assert_eq!(parse_switch(" OFF "), Some(false));
        assert_eq!(parse_switch("0"), Some(false));
        assert_eq!(parse_switch("true"), Some(true));
        assert_eq!(parse_switch("maybe"), None);
    }
}
