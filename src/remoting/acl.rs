//! ACL 1.0 request signing, as the Java client's `AclClientRPCHook`: the extField `AccessKey`
//! (and `SecurityToken` when there is one) is added, then `Signature` = Base64(HmacSHA1(secret,
//! the values of every extField but `Signature`, sorted by key, concatenated, then the body)).

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::command::RemotingCommand;

pub const ACCESS_KEY: &str = "AccessKey";
pub const SIGNATURE: &str = "Signature";
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials to sign requests with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclCredentials {
    pub access_key: String,
    pub secret_key: Secret,
    pub security_token: Option<String>,
}

impl AclCredentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        AclCredentials { access_key: access_key.into(), secret_key: Secret::new(secret_key), security_token: None }
    }

    /// `AK:SK`.
    pub fn parse_pair(s: &str) -> Option<Self> {
        let (ak, sk) = s.split_once(':')?;
        (!ak.is_empty() && !sk.is_empty()).then(|| AclCredentials::new(ak, sk))
    }

    /// Adds `AccessKey` (and `SecurityToken`) and `Signature` to `cmd`.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        cmd.ext_fields.insert(ACCESS_KEY, self.access_key.clone());
        if let Some(t) = &self.security_token {
            cmd.ext_fields.insert(SECURITY_TOKEN, t.clone());
        }
        let sig = signature(self.secret_key.expose(), cmd);
        cmd.ext_fields.insert(SIGNATURE, sig);
    }
}

/// The signature of `cmd` under `secret`: what the client adds and the broker recomputes.
pub fn signature(secret: &str, cmd: &RemotingCommand) -> String {
    let mut fields: Vec<(&str, &str)> = cmd.ext_fields.iter().filter(|(k, _)| *k != SIGNATURE).collect();
    // Java's TreeMap orders by UTF-16 code units: the same as bytes for the ASCII keys used.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for (_, v) in fields {
        mac.update(v.as_bytes());
    }
    mac.update(&cmd.body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a signed request against the credentials a server accepts: `Err(why)` if unsigned,
/// another access key, or a wrong signature.
pub fn verify(accepted: &AclCredentials, cmd: &RemotingCommand) -> Result<(), String> {
    let Some(ak) = cmd.ext_fields.get(ACCESS_KEY) else {
        return Err("no AccessKey: the request is not signed".into());
    };
    if ak != accepted.access_key {
        return Err(format!("unknown AccessKey {ak}"));
    }
    let Some(sig) = cmd.ext_fields.get(SIGNATURE) else {
        return Err("no Signature".into());
    };
    if sig != signature(accepted.secret_key.expose(), cmd) {
        return Err("the signature does not match".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::ExtFields;

    #[test]
    fn signs_sorted_values_and_body_like_java() {
        let mut cmd =
            RemotingCommand::request(310, ExtFields::from_iter([("b", "2"), ("a", "1")])).with_body(&b"xy"[..]);
        let creds = AclCredentials::new("ak", "sk");
        creds.sign(&mut cmd);
        assert_eq!(cmd.ext_fields.get(ACCESS_KEY), Some("ak"));
        // Sorted keys: AccessKey, a, b → "ak" "1" "2", then the body.
        let mut mac = Hmac::<Sha1>::new_from_slice(b"sk").unwrap();
        mac.update(b"ak12xy");
        let expect = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(cmd.ext_fields.get(SIGNATURE), Some(expect.as_str()));
        assert_eq!(verify(&creds, &cmd), Ok(()));
        assert!(verify(&AclCredentials::new("ak", "other"), &cmd).unwrap_err().contains("does not match"));
        assert!(verify(&AclCredentials::new("x", "sk"), &cmd).unwrap_err().contains("unknown AccessKey"));
        // Signing again (a retry) replaces the signature, not adds to it.
        creds.sign(&mut cmd);
        assert_eq!(verify(&creds, &cmd), Ok(()));
        assert!(!format!("{creds:?}").contains("sk\""), "{creds:?}");
        assert_eq!(AclCredentials::parse_pair("a:b").unwrap().access_key, "a");
        assert!(AclCredentials::parse_pair("ab").is_none());
    }
}
