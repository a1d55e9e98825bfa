//! Namespaces as the Java 5.x client applies them (`NamespaceUtil`, `ClientConfig.withNamespace`):
//! a topic or group `R` of namespace `NS` travels as `NS%R` (`%RETRY%NS%R`, `%DLQ%NS%R` for
//! retry and dead-letter topics); system topics and groups, and names already in the namespace,
//! are left as they are.

/// `NamespaceUtil.NAMESPACE_SEPARATOR`.
pub const SEPARATOR: char = '%';
const RETRY_PREFIX: &str = "%RETRY%";
const DLQ_PREFIX: &str = "%DLQ%";

/// `TopicValidator.SYSTEM_TOPIC_SET` (5.3.3).
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

/// `isSystemResource`: a system topic (`rmq_sys_` prefix too) or a system consumer group.
fn is_system(resource: &str) -> bool {
    SYSTEM_TOPICS.contains(&resource) || resource.starts_with("rmq_sys_") || resource.starts_with("CID_RMQ_SYS_")
}

/// The retry / DLQ prefix and the rest.
fn split_prefix(resource: &str) -> (&str, &str) {
    for p in [RETRY_PREFIX, DLQ_PREFIX] {
        if let Some(rest) = resource.strip_prefix(p) {
            return (p, rest);
        }
    }
    ("", resource)
}

/// `NamespaceUtil.wrapNamespace(namespace, resource)`.
pub fn wrap(namespace: &str, resource: &str) -> String {
    if namespace.is_empty() || resource.is_empty() || is_system(resource) {
        return resource.to_string();
    }
    let (prefix, rest) = split_prefix(resource);
    if rest.starts_with(namespace) && rest[namespace.len()..].starts_with(SEPARATOR) {
        return resource.to_string();
    }
    format!("{prefix}{namespace}{SEPARATOR}{rest}")
}

/// `NamespaceUtil.withoutNamespace(resource, namespace)`: the name as the application gave it.
pub fn unwrap<'a>(namespace: &str, resource: &'a str) -> std::borrow::Cow<'a, str> {
    if namespace.is_empty() || resource.is_empty() || is_system(resource) {
        return resource.into();
    }
    let (prefix, rest) = split_prefix(resource);
    match rest.strip_prefix(namespace).and_then(|r| r.strip_prefix(SEPARATOR)) {
        Some(bare) if prefix.is_empty() => bare.into(),
        Some(bare) => format!("{prefix}{bare}").into(),
        None => resource.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_unwraps_as_namespace_util() {
        assert_eq!(wrap("ns1", "Orders"), "ns1%Orders");
        assert_eq!(wrap("ns1", "ns1%Orders"), "ns1%Orders", "already in it");
        assert_eq!(wrap("ns1", "%RETRY%group"), "%RETRY%ns1%group");
        assert_eq!(wrap("ns1", "%DLQ%group"), "%DLQ%ns1%group");
        assert_eq!(wrap("ns1", "TBW102"), "TBW102", "system topics are not wrapped");
        assert_eq!(wrap("ns1", "rmq_sys_x"), "rmq_sys_x");
        assert_eq!(wrap("", "Orders"), "Orders");
        assert_eq!(wrap("ns1", "ns10%Orders"), "ns1%ns10%Orders", "another namespace is not this one");
        assert_eq!(unwrap("ns1", "ns1%Orders"), "Orders");
        assert_eq!(unwrap("ns1", "%RETRY%ns1%group"), "%RETRY%group");
        assert_eq!(unwrap("ns1", "ns2%Orders"), "ns2%Orders");
        assert_eq!(unwrap("ns1", "Orders"), "Orders");
    }
}
