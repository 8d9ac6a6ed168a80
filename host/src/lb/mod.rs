//! Load balancers: pick a server of a service for each request.

pub mod round_robin;

pub use round_robin::RoundRobin;
