//! Typed records of the daemon's objects: one struct per D-Bus interface
//! with every property, its name and its type, written once. The service
//! publishes from them (a change notification is [`InterfaceRecord::diff`]
//! of two records), clients decode into them ([`InterfaceRecord::apply`]).
//! A test compares each record with the XML and the e2e tests compare the
//! live objects with the records. No I/O here.

mod connection;
mod interface;
mod manager;

pub use connection::ConnectionRecord;
pub use interface::InterfaceRecord;
pub use manager::ManagerRecord;

use zbus::wire::OwnedVariant;

/// A property the daemon sent with a type the record does not expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the daemon sent {property} of {path} with an unexpected type: {detail}")]
pub struct PropertyError {
    /// Object path the property belongs to.
    pub path: String,
    pub property: String,
    pub detail: String,
}

/// Changed properties by name, ready for `PropertiesChanged`.
pub type Changes = Vec<(&'static str, OwnedVariant)>;

fn decode<T>(path: &str, property: &str, v: &OwnedVariant) -> Result<T, PropertyError>
where
    T: serde::de::DeserializeOwned + zbus::wire::Type,
{
    zbus::wire::as_variant::deserialize_for_property(v).map_err(|e| PropertyError {
        path: path.to_string(),
        property: property.to_string(),
        detail: format!("expected {}: {e}", T::SIGNATURE),
    })
}

fn encode<T>(v: &T) -> zbus::Result<OwnedVariant>
where
    T: serde::Serialize + zbus::wire::Type,
{
    zbus::wire::as_variant::to_owned_variant(v)
}

/// Declares a record: the struct, its D-Bus interface, and for every field
/// the property name. Generates `PROPERTIES`, `properties()` (name and
/// signature), `apply`, `from_props`, `missing`, `to_props` and `diff`.
macro_rules! record {
    (
        $(#[$m:meta])* $name:ident, $iface:expr,
        { $($(#[$fm:meta])* $field:ident : $ty:ty = $prop:literal,)+ }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
        pub struct $name { $($(#[$fm])* pub $field: $ty,)+ }

        impl $name {
            /// The D-Bus interface whose properties these are.
            pub const INTERFACE: &'static str = $iface;
            /// Every property name, in declaration order.
            pub const PROPERTIES: &'static [&'static str] = &[$($prop,)+];

            /// `(name, D-Bus signature)` of every property.
            pub fn properties() -> Vec<(&'static str, String)> {
                vec![$(($prop, <$ty as zbus::wire::Type>::SIGNATURE.to_string()),)+]
            }

            /// Applies a full or partial set of properties (`GetAll`,
            /// `InterfacesAdded`, `PropertiesChanged`). A missing property
            /// leaves its field (daemons older or newer than the client
            /// differ), unknown ones are ignored, a wrongly typed one is an
            /// error naming it.
            pub fn apply(
                &mut self,
                path: &str,
                props: &crate::signals::Props,
            ) -> Result<(), $crate::records::PropertyError> {
                $(
                    if let Some(v) = props.get($prop) {
                        self.$field = $crate::records::decode(path, $prop, v)?;
                    }
                )+
                Ok(())
            }

            /// A record from a full set of properties (missing ones default).
            pub fn from_props(
                path: &str,
                props: &crate::signals::Props,
            ) -> Result<Self, $crate::records::PropertyError> {
                let mut r = Self::default();
                r.apply(path, props)?;
                Ok(r)
            }

            /// The record's properties `props` lacks.
            pub fn missing(props: &crate::signals::Props) -> Vec<&'static str> {
                Self::PROPERTIES
                    .iter()
                    .copied()
                    .filter(|p| !props.contains_key(*p))
                    .collect()
            }

            /// Every property with its value.
            pub fn to_props(&self) -> zbus::Result<$crate::records::Changes> {
                Ok(vec![$(($prop, $crate::records::encode(&self.$field)?),)+])
            }

            /// The properties whose value differs in `new`, with the new
            /// values: one `PropertiesChanged`.
            pub fn diff(&self, new: &Self) -> zbus::Result<$crate::records::Changes> {
                let mut out = Vec::new();
                $(
                    if self.$field != new.$field {
                        out.push(($prop, $crate::records::encode(&new.$field)?));
                    }
                )+
                Ok(out)
            }
        }
    };
}
use record;

#[cfg(test)]
#[path = "records_test.rs"]
mod tests;
