//! The `topics` section: names, partitions and schemas.

use std::collections::BTreeMap;

use eddy_types::TopicName;

use super::Validator;
use crate::diagnostic::Finding;
use crate::plan::TopicPlan;
use crate::yaml::Path;

impl Validator<'_> {
    /// Checks every topic; the result has an entry per declared id, `None` where the topic
    /// has a problem.
    pub(super) fn topics(&mut self, dead_letter: Option<&TopicName>) -> BTreeMap<String, Option<TopicPlan>> {
        let dataflow = self.dataflow;
        let mut plans = BTreeMap::new();
        let mut names: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (id, topic) in &dataflow.topics {
            let path = Path::root().key("topics").key(id);
            if self.is_broken(&path) {
                plans.insert(id.clone(), None);
                continue;
            }
            let (name_text, name_path) = match &topic.name {
                Some(name) => (name.as_str(), path.key("name")),
                None => (id.as_str(), path.clone()),
            };
            let name = match TopicName::new(name_text) {
                Ok(name) => Some(name),
                Err(error) => {
                    let finding = if topic.name.is_some() {
                        Finding::new(name_path.clone(), error.to_string())
                    } else {
                        Finding::new(
                            name_path.clone(),
                            format!("the topic id is its name by default, but: {error}; set `name:`"),
                        )
                        .at_key()
                    };
                    self.report(finding);
                    None
                }
            };
            if let Some(name) = &name {
                if dead_letter == Some(name) {
                    let finding = Finding::new(
                        name_path.clone(),
                        format!("topic name `{name}` is reserved for the dataflow's dead-letter topic"),
                    );
                    self.report(if topic.name.is_some() { finding } else { finding.at_key() });
                }
                names.entry(name.as_str().to_owned()).or_default().push(id);
            }
            if topic.partitions == 0 {
                self.report(Finding::new(path.key("partitions"), "a topic needs at least 1 partition"));
            }
            let schema = path.key("schema");
            let key = match &topic.schema.key {
                Some(key) => self.type_ref(&key.type_name, schema.key("key").key("type")).map(Some),
                None => Some(None),
            };
            let value = self.type_ref(&topic.schema.value.type_name, schema.key("value").key("type"));
            let plan = match (name, key, value) {
                (Some(name), Some(key), Some(value)) if topic.partitions > 0 => Some(TopicPlan {
                    id: id.clone(),
                    name,
                    partitions: topic.partitions,
                    key,
                    value,
                    converter: topic.schema.value.converter.unwrap_or(dataflow.config.converter),
                }),
                _ => None,
            };
            plans.insert(id.clone(), plan);
        }
        for (name, ids) in names.into_iter().filter(|(_, ids)| ids.len() > 1) {
            // The topic named by its own id owns the name; the others took it.
            let owner = ids.iter().copied().find(|id| *id == name).unwrap_or(ids[0]);
            for id in ids.into_iter().filter(|id| *id != owner) {
                let path = Path::root().key("topics").key(id);
                let finding = if dataflow.topics[id].name.is_some() {
                    Finding::new(
                        path.key("name"),
                        format!("topic name `{name}` is already used by the topic with id `{owner}`"),
                    )
                } else {
                    Finding::new(
                        path,
                        format!("topic name `{name}` is already used by the topic with id `{owner}`"),
                    )
                    .at_key()
                };
                self.report(finding);
                plans.insert(id.to_owned(), None);
            }
        }
        plans
    }
}
