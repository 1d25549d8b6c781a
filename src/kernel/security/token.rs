//! Random tokens for emailed links. The raw token only ever travels in the email; the database
//! keeps its SHA-256. Tokens are derived as HMAC(secret key, random nonce) so a queued email job
//! holds only the nonce: neither the queue nor the token table can reproduce a link alone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url: 256 bits, 43 characters.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The link token for `nonce`, keyed by the app's secret.
pub fn derive_token(secret: &str, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac_sha256(secret, nonce.as_bytes()))
}

pub fn hmac_sha256(secret: &str, message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// What the database stores in place of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A token shape check before any database work: base64url, sensible length.
pub fn looks_like_token(token: &str) -> bool {
    (22..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn random_tokens_carry_at_least_128_bits_and_differ() {
        let a = random_token();
        assert!(a.len() >= 22 && looks_like_token(&a));
        assert_ne!(a, random_token());
    }

    #[test]
    fn derived_tokens_depend_on_the_secret() {
        let nonce = random_token();
        assert_eq!(derive_token("k1", &nonce), derive_token("k1", &nonce));
        assert_ne!(derive_token("k1", &nonce), derive_token("k2", &nonce));
        assert!(looks_like_token(&derive_token("k1", &nonce)));
    }

    proptest! {
        #[test]
        fn the_stored_hash_never_contains_the_token(token in "[A-Za-z0-9_-]{22,64}") {
            let hash = hash_token(&token);
            prop_assert_eq!(hash.len(), 64);
            prop_assert!(!hash.contains(&token));
        }

        #[test]
        fn the_shape_check_rejects_anything_outside_base64url(s in ".{0,80}") {
            let ok = looks_like_token(&s);
            let expected = (22..=64).contains(&s.len())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            prop_assert_eq!(ok, expected);
        }
    }
}
