//! The offline adapters of the ports: a recording that answers for Lightsail
//! (`check --replay`), the recorder that writes one from the live sources (`record`),
//! and the alarm state store in memory.

mod listings;
mod memory_store;
mod recorder;
mod recording;

pub use memory_store::MemoryStore;
pub use recorder::{Recorded, Recorder};
pub use recording::{
    RECORDING_VERSION, RecordedDatapoint, RecordedResource, Recording, RecordingError, Series,
};
