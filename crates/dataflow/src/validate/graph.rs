//! The service graph: services connect through topics (a writer feeds every reader of a
//! topic it writes; a generator source depends on no service). The plan lists services
//! writers-first; a cycle is an error.

use std::collections::BTreeSet;

use super::Validator;
use crate::diagnostic::Finding;
use crate::plan::ServicePlan;
use crate::yaml::Path;

impl Validator<'_> {
    /// Orders `services` so that every service comes after the services feeding it (ties by
    /// name); reports a cycle if there is one.
    pub(super) fn order(&mut self, services: Vec<ServicePlan>) -> Vec<ServicePlan> {
        let count = services.len();
        let writes: Vec<BTreeSet<&str>> = services
            .iter()
            .map(|service| service.sinks.iter().map(|sink| sink.topic_id.as_str()).collect())
            .collect();
        let reads: Vec<BTreeSet<&str>> = services
            .iter()
            .map(|service| service.sources.iter().filter_map(|source| source.topic_id()).collect())
            .collect();
        let via = |from: usize, to: usize| -> Option<&str> {
            if from == to {
                return None;
            }
            writes[from].intersection(&reads[to]).next().copied()
        };

        let mut feeders: Vec<usize> =
            (0..count).map(|to| (0..count).filter(|&from| via(from, to).is_some()).count()).collect();
        let mut ready: BTreeSet<(&str, usize)> =
            (0..count).filter(|&i| feeders[i] == 0).map(|i| (services[i].name.as_str(), i)).collect();
        let mut order = Vec::with_capacity(count);
        while let Some((_, from)) = ready.pop_first() {
            order.push(from);
            for to in 0..count {
                if via(from, to).is_some() {
                    feeders[to] -= 1;
                    if feeders[to] == 0 {
                        ready.insert((services[to].name.as_str(), to));
                    }
                }
            }
        }

        if order.len() < count {
            let finding = cycle(&services, &order, via);
            self.report(finding);
            let placed: BTreeSet<usize> = order.iter().copied().collect();
            order.extend((0..count).filter(|i| !placed.contains(i)));
        }
        let mut slots: Vec<Option<ServicePlan>> = services.into_iter().map(Some).collect();
        order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect()
    }
}

/// Describes one cycle among the services not in `order` (each of which has a feeder among
/// them, so walking feeders backwards must come round).
fn cycle<'a>(
    services: &[ServicePlan],
    order: &[usize],
    via: impl Fn(usize, usize) -> Option<&'a str>,
) -> Finding {
    let left: Vec<usize> = (0..services.len()).filter(|i| !order.contains(i)).collect();
    let mut walk: Vec<usize> = left.first().copied().into_iter().collect();
    while let Some(&current) = walk.last() {
        let Some(feeder) = left.iter().copied().find(|&from| via(from, current).is_some()) else { break };
        if let Some(start) = walk.iter().position(|&seen| seen == feeder) {
            walk.drain(..start);
            break;
        }
        walk.push(feeder);
    }
    walk.reverse();
    // Start the description at the first service by name, for a stable message.
    if let Some(first) =
        walk.iter().enumerate().min_by_key(|(_, service)| &services[**service].name).map(|(at, _)| at)
    {
        walk.rotate_left(first);
    }
    let mut description = String::new();
    for (position, &service) in walk.iter().enumerate() {
        let next = walk[(position + 1) % walk.len()];
        let topic = via(service, next).unwrap_or("?");
        description.push_str(&format!("{} → `{topic}` → ", services[service].name));
    }
    let first = walk.first().map_or("", |&service| services[service].name.as_str());
    description.push_str(first);
    Finding::new(
        Path::root().key("services").key(first),
        format!("services form a cycle through topics: {description}; services must form a DAG"),
    )
    .at_key()
}
