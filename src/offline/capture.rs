//! The offline [`AlertSink`]: keeps every alert it is given instead of publishing it, so
//! a run's real deliveries (claimed, published, confirmed) can be looked at afterwards.
//! `lightsail-alerts test` compares them with what a rule test expects.

use std::sync::Mutex;

use crate::domain::alert::Alert;
use crate::ports::{AlertSink, PublishError};

/// Alerts "published" in memory, in the order they arrived.
#[derive(Debug, Default)]
pub struct CaptureSink {
    alerts: Mutex<Vec<Alert>>,
}

impl CaptureSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The alerts published since the last `take`, leaving none.
    pub fn take(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.alerts.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl AlertSink for CaptureSink {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.push(alert.clone());
        // A message id, as SNS returns one.
        Ok(format!("captured-{}", alerts.len()))
    }
}
