//! Names of the members of `sol!`-generated enums, derived from the generated code (never
//! retyped): the generated `Debug` prints each member's Solidity identifier.

use alloy::sol_types::SolEnum;
use serde::{Serialize, Serializer};
use std::{fmt::Debug, ops::Deref, sync::LazyLock};

/// The member names of a `sol!`-generated enum, in discriminant order, derived from the generated
/// `Debug` (which prints the Solidity member's identifier).
pub trait SolEnumNames: SolEnum + Copy + Debug + TryFrom<u8> + Into<u8> + 'static {
    /// Every member's name, by discriminant.
    fn names() -> &'static [&'static str];

    /// Every member, by discriminant.
    fn members() -> impl Iterator<Item = Self> {
        (0..Self::COUNT as u8).filter_map(|i| Self::try_from(i).ok())
    }

    /// The member's Solidity name (`"UNKNOWN"` for the out-of-range placeholder).
    fn name(self) -> &'static str {
        Self::names()
            .get(Into::<u8>::into(self) as usize)
            .copied()
            .unwrap_or("UNKNOWN")
    }

    /// The member called `name`.
    fn from_name(name: &str) -> Option<Self> {
        let i = Self::names().iter().position(|n| *n == name)?;
        Self::try_from(i as u8).ok()
    }
}

pub(crate) fn derive_names<E: SolEnum + Debug + TryFrom<u8>>() -> Vec<&'static str> {
    (0..E::COUNT as u8)
        .map(|i| match E::try_from(i) {
            Ok(member) => &*format!("{member:?}").leak(),
            Err(_) => unreachable!("every discriminant below COUNT is a member"),
        })
        .collect()
}

/// A list of member names (derefs to `[&str]`, serializes as a JSON array of strings).
pub struct Names(pub(crate) LazyLock<&'static [&'static str]>);

impl Deref for Names {
    type Target = [&'static str];
    fn deref(&self) -> &[&'static str] {
        &self.0
    }
}

impl Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Names {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}
