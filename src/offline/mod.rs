//! The offline adapters of the ports: a recording that answers for Lightsail
//! (`check --replay`), the recorder that writes one from the live sources (`record`),
//! the alarm state store in memory and in a local file (`check --state-file`), and a
//! sink that keeps the alerts it is given (rule tests).

mod capture;
mod file_store;
mod listings;
mod memory_store;
mod recorder;
mod recording;

pub use capture::CaptureSink;
pub use file_store::{FileStore, StateFileError};
pub use memory_store::MemoryStore;
pub use recorder::{Recorded, Recorder};
pub use recording::{
    RECORDING_VERSION, RecordedDatapoint, RecordedResource, Recording, RecordingError, Series,
};
