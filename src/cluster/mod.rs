//! The embedded demo cluster.
