//! Portable column encodings: enums and JSON as `Text`, typed ids over `BigInt`.
//!
//! Rows expose domain types (`Role`, `UserId`, `Vec<String>`) while the columns stay in the small
//! set of SQL types both backends share. The wrappers here are the only place that conversion
//! happens; they appear in rows only as `#[diesel(deserialize_as/serialize_as)]`.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::str::FromStr;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::{
    CharacterId, ConversationKind, FriendshipStatus, MemberRole, MessageRole, MessageStatus,
    MessageType, Role, StoryStatus, Visibility,
};

/// UTC now, truncated to microseconds: PostgreSQL keeps microseconds and SQLite would keep
/// nanoseconds, so without this a value read back would differ from the one written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A domain enum with one stored string form.
pub trait TextEnum: Copy + Debug + FromStr + Send + Sync + 'static {
    fn as_text(self) -> &'static str;
}

macro_rules! text_enums {
    ($($ty:ty),* $(,)?) => {$(
        impl TextEnum for $ty {
            fn as_text(self) -> &'static str {
                self.as_str()
            }
        }
        impl From<DbEnum<$ty>> for $ty {
            fn from(v: DbEnum<$ty>) -> Self {
                v.0
            }
        }
    )*};
}

text_enums!(
    Role,
    Visibility,
    ConversationKind,
    MemberRole,
    MessageRole,
    MessageType,
    MessageStatus,
    FriendshipStatus,
    StoryStatus,
);

/// An enum stored as its `as_str()` text.
#[derive(Debug, Clone, Copy, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct DbEnum<T: TextEnum>(pub T);

impl<T: TextEnum> From<T> for DbEnum<T> {
    fn from(v: T) -> Self {
        DbEnum(v)
    }
}

impl<T, DB> ToSql<Text, DB> for DbEnum<T>
where
    T: TextEnum,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.as_text().to_sql(out)
    }
}

impl<T, DB> FromSql<Text, DB> for DbEnum<T>
where
    T: TextEnum,
    T::Err: std::fmt::Display,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        text.parse::<T>()
            .map(DbEnum)
            .map_err(|e| format!("stored value `{text}`: {e}").into())
    }
}

/// A nullable id column read as `Option<SomeId>`.
#[derive(Debug, Clone, Copy, AsExpression, FromSqlRow)]
#[diesel(sql_type = BigInt)]
pub struct NullableId<T> {
    raw: Option<i64>,
    _id: PhantomData<T>,
}

impl<T: Into<i64>> From<Option<T>> for NullableId<T> {
    fn from(v: Option<T>) -> Self {
        NullableId {
            raw: v.map(Into::into),
            _id: PhantomData,
        }
    }
}

impl<T: From<i64>> From<NullableId<T>> for Option<T> {
    fn from(v: NullableId<T>) -> Self {
        v.raw.map(T::from)
    }
}

impl<T, DB> ToSql<BigInt, DB> for NullableId<T>
where
    T: Debug,
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        match &self.raw {
            Some(v) => v.to_sql(out),
            None => Ok(IsNull::Yes),
        }
    }
}

impl<T, DB> FromSql<Nullable<BigInt>, DB> for NullableId<T>
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(NullableId {
            raw: Some(i64::from_sql(bytes)?),
            _id: PhantomData,
        })
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(b) => Self::from_sql(b),
            None => Ok(NullableId {
                raw: None,
                _id: PhantomData,
            }),
        }
    }
}

/// A JSON value read from a `Text` column.
#[derive(Debug, Clone, FromSqlRow)]
pub struct Json<T>(pub T);

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: serde::de::DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Ok(Json(serde_json::from_str(&text)?))
    }
}

/// A JSON value serialised for a `Text` column.
#[derive(Debug, Clone, AsExpression)]
#[diesel(sql_type = Text)]
pub struct JsonText(pub String);

impl<DB> ToSql<Text, DB> for JsonText
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.as_str().to_sql(out)
    }
}

macro_rules! json_lists {
    ($($ty:ty),* $(,)?) => {$(
        impl From<Json<Vec<$ty>>> for Vec<$ty> {
            fn from(v: Json<Vec<$ty>>) -> Self {
                v.0
            }
        }
        impl From<Vec<$ty>> for JsonText {
            fn from(v: Vec<$ty>) -> Self {
                JsonText(to_json(&v))
            }
        }
        impl From<&[$ty]> for JsonText {
            fn from(v: &[$ty]) -> Self {
                JsonText(to_json(&v))
            }
        }
    )*};
}

json_lists!(String, CharacterId);

/// Serialising a list of strings or ids cannot fail; an empty list is the harmless fallback.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

/// `%query%` with the LIKE wildcards of `query` escaped by `\` (paired with `.escape('\\')`).
pub(crate) fn contains_pattern(query: &str) -> String {
    let mut out = String::with_capacity(query.len() + 2);
    out.push('%');
    for ch in query.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}
