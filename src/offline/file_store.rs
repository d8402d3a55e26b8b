//! The alarm state store in a local JSON file (`check --state-file PATH`, SPEC §15): the
//! conditions of the DynamoDB table (claims, versions, partial deliveries), kept between
//! runs on one machine, so successive runs over a recording show transitions.
//!
//! The file is read once, when the store is opened; a missing file is an empty store.
//! The store then works in memory ([`MemoryStore`], so both share every condition) and
//! **writes the whole file after each change** (a claim, confirm, release or record),
//! atomically: to a temporary file beside it, then renamed over it. A run that dies
//! leaves the file as of its last change, claims included, which expire after their
//! lease as in the table. Two runs on one file at once are not supported: each
//! writes what it read plus its own changes, and the last to write wins.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::memory_store::{Claim, Item, MemoryStore};
use crate::domain::evaluate::AlarmState;
use crate::domain::select::Selector;
use crate::domain::silence::{AdHoc, Book, Matcher};
use crate::domain::transition::{Delivered, Held, Stored};
use crate::ports::{ClaimRequest, Loaded, StateStore, StoreError};

/// The version of the file's format; another is refused by name.
const FORMAT_VERSION: u32 = 1;

/// Why a state file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read the state file {path}: {detail}")]
    Read { path: String, detail: String },
    #[error(
        "the state file {path} is not a lightsail-alerts state file: {detail}; remove it (or \
         name another) to start from no state"
    )]
    Corrupt { path: String, detail: String },
}

/// The alarm states in a local JSON file; see the module's documentation.
#[derive(Debug)]
pub struct FileStore {
    memory: MemoryStore,
    path: PathBuf,
}

/// The file: `{"stateFileVersion": 1, "items": {"<rule>#<region>#<resource>": {...}},
/// "silences": {"version": 1, "silences": {...}}}`, the ad hoc silences only once there
/// are some.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    state_file_version: u32,
    items: BTreeMap<String, FileItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    silences: Option<FileSilences>,
}

/// The ad hoc silences ([`Book`]), by ID.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileSilences {
    version: u64,
    silences: BTreeMap<String, FileAdHoc>,
}

/// One ad hoc silence ([`AdHoc`]): its match's globs as text.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileAdHoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    comment: String,
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expired_at: Option<DateTime<Utc>>,
}

/// One key: its state, the notice delivered to some targets before it had one, and the
/// claim on it; each absent when there is none.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stored: Option<FileStored>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered: Option<FileDelivered>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<FileClaim>,
}

/// [`Stored`], with the attribute names of the table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileStored {
    state: AlarmState,
    changed_at: DateTime<Utc>,
    range_end: DateTime<Utc>,
    notified_at: Option<DateTime<Utc>>,
    reason: String,
    version: u64,
    period: Option<u32>,
    alarm_open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered: Option<FileDelivered>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held: Option<FileHeld>,
}

/// [`Held`]: the notice a silence or an inhibition holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileHeld {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<AlarmState>,
    to: AlarmState,
    since: DateTime<Utc>,
    by: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileDelivered {
    notice: String,
    topics: BTreeSet<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileClaim {
    token: String,
    /// Epoch seconds, as in the table.
    expires_at: i64,
    pending_state: AlarmState,
    pending_range_end: DateTime<Utc>,
}

impl FileStore {
    /// Reads the file at `path`, or starts empty when there is none.
    pub fn open(path: &Path) -> Result<Self, StateFileError> {
        let shown = path.display().to_string();
        let (items, silences) = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes).map_err(|detail| StateFileError::Corrupt {
                path: shown.clone(),
                detail,
            })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                (HashMap::new(), Book::default())
            }
            Err(err) => {
                return Err(StateFileError::Read {
                    path: shown,
                    detail: err.to_string(),
                });
            }
        };
        Ok(FileStore {
            memory: MemoryStore::holding(format!("(state file {shown})"), items, silences),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every item (`status`).
    pub fn load_all(&self) -> Loaded {
        self.memory.load_all()
    }

    /// Writes the store out after a change to `key`: the whole file, to a temporary file
    /// in the same directory, then renamed over the old one, so a reader (or a run that
    /// dies meanwhile) sees the old file or the new one, never half of one.
    fn save(&self, key: &str) -> Result<(), StoreError> {
        let error = |detail: String| StoreError::File {
            path: self.path.display().to_string(),
            key: key.to_owned(),
            detail,
        };
        // Serialised and written with the store locked, so that of two changes in
        // flight the later write holds both.
        self.memory.read(|items, silences| {
            let mut json = serde_json::to_vec_pretty(&to_file(items, silences))
                .map_err(|e| error(e.to_string()))?;
            json.push(b'\n');
            let temporary = self.temporary();
            let written = std::fs::File::create(&temporary)
                .and_then(|mut file| file.write_all(&json))
                .and_then(|()| std::fs::rename(&temporary, &self.path));
            written.map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                error(e.to_string())
            })
        })
    }

    /// `PATH.<pid>.tmp` beside `PATH`: the same file system, so the rename is atomic.
    fn temporary(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        self.path.with_file_name(name)
    }

    /// Saves after `change` when it changed the store (`Ok(true)`).
    fn saved(&self, key: &str, changed: Result<bool, StoreError>) -> Result<bool, StoreError> {
        match changed? {
            true => self.save(key).map(|()| true),
            false => Ok(false),
        }
    }
}

fn parse(bytes: &[u8]) -> Result<(HashMap<String, Item>, Book), String> {
    // The version first, so a file of another version says so rather than which of its
    // fields this one does not know.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let Some(object) = value.as_object() else {
        return Err("expected a JSON object with stateFileVersion and items".to_owned());
    };
    match object.get("stateFileVersion") {
        Some(v) if *v == FORMAT_VERSION => {}
        Some(other) => {
            return Err(format!(
                "its stateFileVersion is {other}; this version of lightsail-alerts reads \
                 {FORMAT_VERSION}"
            ));
        }
        None => return Err("it has no stateFileVersion".to_owned()),
    }
    // From the bytes again, for errors with a line and column.
    let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let silences = match file.silences {
        Some(silences) => silences_from_file(silences)?,
        None => Book::default(),
    };
    let items = file
        .items
        .into_iter()
        .map(|(key, item)| (key, from_file(item)))
        .collect();
    Ok((items, silences))
}

fn silences_from_file(file: FileSilences) -> Result<Book, String> {
    let glob = |id: &str, text: Option<String>| {
        text.map(|t| Selector::parse(&t).map_err(|e| format!("silence {id}: {e}")))
            .transpose()
    };
    let mut book = Book {
        version: Some(file.version),
        silences: BTreeMap::new(),
    };
    for (id, s) in file.silences {
        let tags = s
            .tags
            .into_iter()
            .map(|(k, v)| Selector::parse(&v).map(|g| (k, g)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("silence {id}: {e}"))?;
        let matcher = Matcher {
            rule: glob(&id, s.rule)?,
            resource: glob(&id, s.resource)?,
            region: glob(&id, s.region)?,
            tags,
        };
        book.silences.insert(
            id.clone(),
            AdHoc {
                id,
                matcher,
                start: s.start,
                end: s.end,
                comment: s.comment,
                created_at: s.created_at,
                expired_at: s.expired_at,
            },
        );
    }
    Ok(book)
}

fn silences_to_file(book: &Book) -> Option<FileSilences> {
    let text = |s: &Option<Selector>| s.as_ref().map(|s| s.as_str().to_owned());
    Some(FileSilences {
        version: book.version?,
        silences: book
            .silences
            .iter()
            .map(|(id, s)| {
                let silence = FileAdHoc {
                    rule: text(&s.matcher.rule),
                    resource: text(&s.matcher.resource),
                    region: text(&s.matcher.region),
                    tags: s
                        .matcher
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                        .collect(),
                    start: s.start,
                    end: s.end,
                    comment: s.comment.clone(),
                    created_at: s.created_at,
                    expired_at: s.expired_at,
                };
                (id.clone(), silence)
            })
            .collect(),
    })
}

fn to_file(items: &HashMap<String, Item>, silences: &Book) -> File {
    let delivered = |d: &Delivered| FileDelivered {
        notice: d.notice.clone(),
        topics: d.topics.clone(),
    };
    File {
        state_file_version: FORMAT_VERSION,
        items: items
            .iter()
            .map(|(key, item)| {
                let stored = item.stored.as_ref().map(|s| FileStored {
                    state: s.state,
                    changed_at: s.changed_at,
                    range_end: s.range_end,
                    notified_at: s.notified_at,
                    reason: s.reason.clone(),
                    version: s.version,
                    period: s.period,
                    alarm_open: s.alarm_open,
                    delivered: s.delivered.as_ref().map(delivered),
                    held: s.held.as_ref().map(|h| FileHeld {
                        from: h.from,
                        to: h.to,
                        since: h.since,
                        by: h.by.clone(),
                    }),
                });
                let claim = item.claim.as_ref().map(|c| FileClaim {
                    token: c.token.clone(),
                    expires_at: c.expires_at,
                    pending_state: c.pending_state,
                    pending_range_end: c.pending_range_end,
                });
                let item = FileItem {
                    stored,
                    delivered: item.delivered.as_ref().map(delivered),
                    claim,
                };
                (key.clone(), item)
            })
            .collect(),
        silences: silences_to_file(silences),
    }
}

fn from_file(item: FileItem) -> Item {
    let delivered = |d: FileDelivered| Delivered {
        notice: d.notice,
        topics: d.topics,
    };
    Item {
        stored: item.stored.map(|s| Stored {
            state: s.state,
            changed_at: s.changed_at,
            range_end: s.range_end,
            notified_at: s.notified_at,
            reason: s.reason,
            version: s.version,
            period: s.period,
            alarm_open: s.alarm_open,
            delivered: s.delivered.map(delivered),
            held: s.held.map(|h| Held {
                from: h.from,
                to: h.to,
                since: h.since,
                by: h.by,
            }),
        }),
        claim: item.claim.map(|c| Claim {
            token: c.token,
            expires_at: c.expires_at,
            pending_state: c.pending_state,
            pending_range_end: c.pending_range_end,
        }),
        delivered: item.delivered.map(delivered),
    }
}

impl StateStore for FileStore {
    async fn load(&self, keys: &[String]) -> Result<Loaded, StoreError> {
        self.memory.load(keys).await
    }

    async fn claim(&self, claim: ClaimRequest<'_>) -> Result<bool, StoreError> {
        let won = self.memory.claim(claim).await;
        self.saved(claim.key, won)
    }

    async fn confirm(&self, key: &str, token: &str, new: &Stored) -> Result<(), StoreError> {
        self.memory.confirm(key, token, new).await?;
        self.save(key)
    }

    async fn release(
        &self,
        key: &str,
        token: &str,
        delivered: Option<&Delivered>,
    ) -> Result<(), StoreError> {
        self.memory.release(key, token, delivered).await?;
        self.save(key)
    }

    async fn record(
        &self,
        key: &str,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
        new: &Stored,
    ) -> Result<bool, StoreError> {
        let written = self.memory.record(key, expected_version, now, new).await;
        self.saved(key, written)
    }

    async fn write_silences(&self, book: &Book) -> Result<bool, StoreError> {
        let written = self.memory.write_silences(book).await;
        self.saved(crate::ports::SILENCES_KEY, written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::conformance::{self, at, state};

    fn store_in(dir: &tempfile::TempDir) -> (FileStore, PathBuf) {
        let path = dir.path().join("state.json");
        (FileStore::open(&path).unwrap(), path)
    }

    macro_rules! file_conformance {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $case() {
                let dir = tempfile::tempdir().unwrap();
                let (store, path) = store_in(&dir);
                conformance::run(&store, stringify!($case)).await;
                // What the file holds is what the store held.
                let reopened = FileStore::open(&path).unwrap();
                let (before, after) = (store.memory.read(to_file), reopened.memory.read(to_file));
                assert_eq!(format!("{before:?}"), format!("{after:?}"));
            }
        )*
        };
    }

    conformance::each_case!(file_conformance);

    #[tokio::test]
    async fn a_missing_file_is_an_empty_store_and_each_change_is_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = store_in(&dir);
        let key = "cpu#us-east-1#web-1";
        assert!(
            store
                .load(&[key.to_owned()])
                .await
                .unwrap()
                .states
                .is_empty()
        );
        assert!(!path.exists(), "opening writes nothing");

        let alarm = state(AlarmState::Alarm, 0, 1);
        assert!(
            store
                .claim(ClaimRequest {
                    key,
                    expected_version: None,
                    token: "run",
                    now: at(0),
                    lease_until: at(5),
                    pending: &alarm,
                })
                .await
                .unwrap()
        );
        // The claim is in the file before anything is published.
        let claimed = FileStore::open(&path).unwrap();
        assert!(claimed.memory.read(|items, _| items[key].claim.is_some()));
        assert!(
            !claimed
                .claim(ClaimRequest {
                    key,
                    expected_version: None,
                    token: "other",
                    now: at(1),
                    lease_until: at(6),
                    pending: &alarm,
                })
                .await
                .unwrap()
        );
        store.confirm(key, "run", &alarm).await.unwrap();
        let reopened = FileStore::open(&path).unwrap();
        let loaded = reopened.load(&[key.to_owned()]).await.unwrap();
        assert_eq!(loaded.states.get(key), Some(&alarm));
        // A lost condition writes nothing: the file is unchanged.
        let before = std::fs::read(&path).unwrap();
        assert!(!store.record(key, None, at(1), &alarm).await.unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for (text, says) in [
            ("{not json", "key must be a string"),
            (
                "[]",
                "expected a JSON object with stateFileVersion and items",
            ),
            ("{\"items\": {}}", "it has no stateFileVersion"),
            (
                "{\"stateFileVersion\": 2, \"items\": {}}",
                "its stateFileVersion is 2; this version of lightsail-alerts reads 1",
            ),
            (
                "{\"stateFileVersion\": 1, \"items\": {\"k\": {\"stored\": {\"state\": \"FIRING\"}}}}",
                "unknown variant `FIRING`",
            ),
            (
                "{\"stateFileVersion\": 1, \"items\": {}, \"extra\": 1}",
                "unknown field `extra`",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = FileStore::open(&path).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "the state file {} is not a lightsail-alerts state file: ",
                    path.display()
                )),
                "{err}"
            );
            assert!(err.contains(says), "{text}: {err}");
        }
        let err = FileStore::open(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot read the state file "), "{err}");
    }

    #[tokio::test]
    async fn a_write_that_fails_is_a_store_error_naming_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone").join("state.json");
        let store = FileStore::open(&path).unwrap();
        let err = store
            .record("k#r#x", None, at(0), &state(AlarmState::Ok, 0, 1))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::File { .. })
                && message.starts_with(&format!(
                    "cannot write the state file {} (after a change to k#r#x): ",
                    path.display()
                )),
            "{message}"
        );
    }
}
