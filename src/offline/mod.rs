//! The offline adapters of the ports: a recording that answers for Lightsail
//! (`check --replay`), and the alarm state store in memory.

mod listings;
mod memory_store;
mod recording;

pub use memory_store::MemoryStore;
pub use recording::{
    RECORDING_VERSION, RecordedDatapoint, RecordedResource, Recording, RecordingError, Series,
};
