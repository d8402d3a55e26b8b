//! The AWS adapters of the ports, one per service, all built from one SDK config.

pub mod clients;
mod dynamodb;
mod lightsail;
pub mod pace;
pub mod s3;
mod sns;

pub use clients::{RegionalClients, sdk_config};
pub use dynamodb::DynamoStore;
pub use lightsail::LightsailSource;
pub use sns::SnsSink;
