//! The pure core: no async, no SDK types, no I/O. Everything here is a function of its
//! arguments and is table-tested: the metric catalog, selection, query planning,
//! CloudWatch's evaluation, the transition rules of the state store, silences, and alert
//! rendering.

pub mod alert;
pub mod catalog;
pub mod evaluate;
pub mod plan;
pub mod rule;
pub mod select;
pub mod silence;
pub mod time;
pub mod transition;
