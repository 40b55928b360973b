//! `apiVersion`, `meta` and `config`: the dataflow-wide settings.

use std::time::Duration;

use eddy_types::TopicName;

use super::Validator;
use crate::diagnostic::Finding;
use crate::model::Position;
use crate::plan::StartOffset;
use crate::yaml::Path;

/// The file format versions this build reads (SDF's).
pub(crate) const API_VERSIONS: [&str; 2] = ["0.5.0", "0.6.0"];

/// The settings every service needs.
pub(super) struct Settings {
    pub(super) dead_letter_topic: TopicName,
    pub(super) commit_interval: Duration,
    pub(super) start: StartOffset,
}

impl Validator<'_> {
    pub(super) fn settings(&mut self) -> Option<Settings> {
        let dataflow = self.dataflow;
        let version = dataflow.api_version.as_str();
        if !API_VERSIONS.contains(&version) && !self.is_broken(&Path::root().key("apiVersion")) {
            self.report(
                Finding::new(
                    Path::root().key("apiVersion"),
                    format!("unsupported apiVersion `{version}`; expected `0.5.0` or `0.6.0`"),
                )
                .expected("`0.5.0` or `0.6.0`"),
            );
        }

        let name_path = Path::root().key("meta").key("name");
        let dead_letter_topic = match TopicName::new(&dataflow.meta.name) {
            _ if self.is_broken(&name_path) => None,
            Err(error) => {
                self.report(Finding::new(
                    name_path,
                    format!("{error}; the name prefixes the dead-letter topic, so it follows the rules of topic names"),
                ));
                None
            }
            Ok(_) => match TopicName::new(&format!("{}.dead-letter", dataflow.meta.name)) {
                Ok(topic) => Some(topic),
                Err(error) => {
                    self.report(Finding::new(
                        name_path,
                        format!("the dead-letter topic's name is invalid: {error}"),
                    ));
                    None
                }
            },
        };

        let commit_interval = dataflow.config.commit_interval;
        if commit_interval.is_zero() {
            self.report(Finding::new(
                Path::root().key("config").key("commit-interval"),
                "the commit interval must be longer than 0; the default is 100ms",
            ));
        }

        let offset = &dataflow.config.consumer.default_starting_offset;
        let start = match offset.position {
            Position::Beginning => StartOffset::Beginning(offset.value),
            Position::End => StartOffset::End(offset.value),
            Position::Offset => StartOffset::Absolute(offset.value),
        };
        Some(Settings { dead_letter_topic: dead_letter_topic?, commit_interval, start })
    }
}
