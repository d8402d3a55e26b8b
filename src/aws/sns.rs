//! SNS through the AWS SDK: the [`AlertSink`], in the region named by each topic's ARN.

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::clients::{self, RegionalClients};
use crate::domain::alert::Alert;
use crate::ports::{AlertSink, PublishError};

/// SNS through the AWS SDK, in the region named by each topic's ARN.
pub struct SnsSink {
    clients: RegionalClients<aws_sdk_sns::Client>,
}

impl SnsSink {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            clients: RegionalClients::new(config, |config, region| {
                let config = aws_sdk_sns::config::Builder::from(config)
                    .region(aws_sdk_sns::config::Region::new(region.to_owned()))
                    .retry_partition(clients::retry_partition("sns", region))
                    .build();
                aws_sdk_sns::Client::from_conf(config)
            }),
        }
    }
}

impl AlertSink for SnsSink {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let failed = |message: String| PublishError {
            topic_arn: alert.topic_arn.to_string(),
            message,
        };
        // A topic may live in another region than the function.
        let mut request = self
            .clients
            .get(alert.topic_arn.region())
            .publish()
            .topic_arn(alert.topic_arn.as_str())
            .subject(&alert.subject)
            .message(&alert.message)
            .set_message_group_id(alert.message_group_id.clone())
            .set_message_deduplication_id(alert.message_deduplication_id.clone());
        for (name, value) in &alert.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| failed(e.to_string()))?;
            request = request.message_attributes(name, value);
        }
        let output = request.send().await.map_err(|err| {
            failed(match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => super::error_chain(&err),
            })
        })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}
