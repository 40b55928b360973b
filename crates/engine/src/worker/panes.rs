//! The worker's side of sliding windows kept as panes (see `crate::panes`): a record updates
//! its pane, and windows the watermark passed are computed from the panes before anything
//! else happens to them.

use bytes::Bytes;
use eddy_dataflow::{Logic, WindowPlan};
use serde_json::Value;

use super::Worker;
use crate::flow::{self, Flow, Origin};
use crate::operators::call_merge;
use crate::topology::{Topology, Update};
use crate::windows::{Bounds, window_value};
use crate::{Error, Result};

impl Worker {
    /// A keyed record of a service whose sliding windows are kept as panes: updates the
    /// key's state in the record's pane only. It is late when every window holding it closed
    /// (for the key too: see `Panes::is_late`).
    pub(super) fn update_pane(
        &mut self,
        topology: &Topology,
        service: u32,
        flow: Flow,
        key: Bytes,
    ) -> Result<()> {
        let s = &topology.services[service as usize];
        let (Some(window), Some(update)) = (&s.window, s.keyed.as_ref().and_then(|k| k.update.as_ref()))
        else {
            return Err(Error::Internal("a windowed service without update-state".into()));
        };
        // The windows the watermark passed close before this record can reach them.
        self.close_panes(topology, service);
        let Some(windows) = self.windows[service as usize].as_mut() else {
            return Err(Error::Internal("no windows for a windowed service".into()));
        };
        let watermark = windows.watermark();
        let Some(panes) = windows.panes.as_mut() else {
            return Err(Error::Internal("no panes for a service kept as panes".into()));
        };
        if panes.is_late(&key, flow.timestamp, watermark, window.grace_ms) {
            let missed: Vec<Bounds> =
                window.kind.windows_of(flow.timestamp).map(|(start, end)| (end, start)).collect();
            self.late_record(topology, s, watermark, &missed, flow);
            return Ok(());
        }
        let pane = panes.pane_of(flow.timestamp);
        let key_value = if s.uses_key { flow::key_value(Some(&key)) } else { Value::Null };
        let state = panes.get(pane, &key).unwrap_or(&update.initial);
        match update.apply(&mut self.wasm, &flow, &key_value, state) {
            // A component that deletes a key's pane state starts it over.
            Ok(Value::Null) => panes.put(pane, key, update.initial.clone()),
            Ok(new) => panes.put(pane, key, new),
            Err(reason) => self.dead_letter(topology, s, &update.origin, &reason, flow),
        }
        Ok(())
    }

    /// Computes every window of `service` the watermark passed from its panes, for
    /// `close_windows` to flush; a key whose panes do not merge goes to the dead letters with
    /// the window.
    pub(super) fn close_panes(&mut self, topology: &Topology, service: u32) {
        let s = &topology.services[service as usize];
        let (Some(window), Some(update)) = (&s.window, s.keyed.as_ref().and_then(|k| k.update.as_ref()))
        else {
            return;
        };
        let Some(windows) = self.windows[service as usize].as_mut() else { return };
        if windows.panes.is_none() {
            return;
        }
        let mut merge = |earlier: &Value, later: &Value| merge_panes(window, update, earlier, later);
        for (bounds, key, reason) in windows.close_panes(window.grace_ms, &mut merge) {
            let (origin, reason) = match window.merge {
                Some(_) => (window.merge_origin.as_str(), reason),
                None => (update.origin.as_str(), format!("merging panes: {reason}")),
            };
            let flow = Flow {
                key: Some(key),
                value: window_value(bounds),
                timestamp: bounds.0.saturating_sub(1),
                origin: Origin { source: 0, partition: 0, offset: 0 },
                projected: false,
            };
            self.dead_letter(topology, s, origin, &reason, flow);
        }
    }
}

/// Two panes' states of a key combined, the earlier first: the window's `merge`, or the
/// built-in aggregate's own.
fn merge_panes(
    window: &WindowPlan,
    update: &Update,
    earlier: &Value,
    later: &Value,
) -> std::result::Result<Value, String> {
    match (&window.merge, &update.logic) {
        (Some(merge), _) => call_merge(merge, earlier, later),
        (None, Logic::Aggregate(plan)) => crate::aggregate::merge(plan.kind, earlier, later),
        (None, _) => Err("the window has no `merge`".to_owned()),
    }
}
