//! Refusing JSON whose objects repeat a key, for request bodies and recording callbacks.

/// Refuses a JSON text in which an object repeats a key (at any depth): readers disagree
/// on which one wins (ours took the last, while a stored body shows both). Text that is
/// not JSON passes here; the parser reports it.
pub fn no_duplicate_keys(bytes: &[u8]) -> Result<(), String> {
    use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
    use std::collections::HashSet;

    struct Check;
    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(Check)
        }
    }
    impl<'de> Visitor<'de> for Check {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            while a.next_element_seed(Check)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(k) = a.next_key::<String>()? {
                if !seen.insert(k.clone()) {
                    let shown = crate::shortened(&k, 64);
                    return Err(A::Error::custom(format!("duplicate key {shown:?}")));
                }
                a.next_value_seed(Check)?;
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Check.deserialize(&mut de) {
        Err(e) if e.to_string().starts_with("duplicate key") => Err(format!(
            "body: {}",
            e.to_string().split(" at line").next().unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_refused_at_any_depth() {
        let e = no_duplicate_keys(br#"{"uid":"a","uid":"teacher","timestamp":1}"#).unwrap_err();
        assert!(e.contains("duplicate key \"uid\""), "{e}");
        assert!(no_duplicate_keys(br#"{"a":{"b":1,"b":2}}"#).is_err());
        assert!(no_duplicate_keys(br#"[{"a":1},{"a":1}]"#).is_ok());
        assert!(no_duplicate_keys(br#"{"a":1,"b":{"a":2}}"#).is_ok());
        assert!(no_duplicate_keys(b"not json").is_ok());
    }
}
