//! A serde `Deserializer` over protobuf messages, driven by the generated schema: each message
//! is handed to the target type as the map JSON would give it (its fields under their JSON
//! names, special types as JSON writes them), so any `Deserialize` type — the k8s-openapi
//! structs, `PartialObjectMetadata`, `WatchEvent`, `DynamicObject` — decodes from protobuf
//! straight from the wire bytes, with no intermediate structs.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor, value::BorrowedStrDeserializer};

use super::{
    Error,
    envelope::{Envelope, MAGIC, utf8},
    generated::PARTIAL_OBJECT_METADATA,
    schema::{Field, Kind, Message, Shape, by_kind, message},
    time,
    wire::{Reader, Value},
};

/// How deep messages (and embedded envelopes) may nest: far deeper than any API object
/// (`JSONSchemaProps` is recursive), shallow enough for the stack.
pub(crate) const MAX_DEPTH: u16 = 100;

/// How many levels of inlined messages (JSON `inline`) one message may flatten.
const MAX_INLINE: usize = 4;

/// Options every level of a decode shares.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ctx {
    pub drop_managed_fields: bool,
}

/// A message, given to the target as a map.
pub(crate) struct MessageDe<'de> {
    pub buf: &'de [u8],
    pub msg: u16,
    /// apiVersion and kind from the envelope, given first as JSON has them.
    pub types: Option<(&'de str, &'de str)>,
    pub depth: u16,
    pub ctx: Ctx,
}

impl<'de> MessageDe<'de> {
    /// The object in an envelope (`k8s\0` + `runtime.Unknown`).
    pub(crate) fn from_envelope(env: &Envelope<'de>, depth: u16, ctx: Ctx) -> Result<Self, Error> {
        let msg = by_kind(env.api_version, env.kind).ok_or_else(|| Error::UnknownKind {
            api_version: env.api_version.to_string(),
            kind: env.kind.to_string(),
        })?;
        Ok(Self { buf: env.raw, msg, types: Some((env.api_version, env.kind)), depth, ctx })
    }

    fn access(self) -> Result<Fields<'de>, Error> {
        if self.depth > MAX_DEPTH {
            return Err(Error::TooDeep(MAX_DEPTH));
        }
        let level = Level::new(self.buf, self.msg);
        Ok(Fields {
            levels: [level; MAX_INLINE],
            len: 1,
            types: self.types,
            typed: 0,
            pending: Pending::None,
            depth: self.depth,
            ctx: self.ctx,
        })
    }
}

#[derive(Clone, Copy)]
struct Level<'de> {
    reader: Reader<'de>,
    buf: &'de [u8],
    msg: &'static Message,
    /// Repeated and map fields already given (all their entries at once), by number.
    consumed: u64,
    /// Repeated and map fields whose entries are not all in one run (other fields between
    /// them), by number; `None` until the first repeated field is met.
    split: Option<u64>,
}

impl<'de> Level<'de> {
    fn new(buf: &'de [u8], msg: u16) -> Self {
        Self { reader: Reader::new(buf), buf, msg: message(msg), consumed: 0, split: None }
    }

    /// Which fields have entries in more than one run, reading from `from` to the end once.
    fn split(&mut self, from: usize) -> Result<u64, Error> {
        if let Some(split) = self.split {
            return Ok(split);
        }
        let (mut seen, mut split, mut prev) = (0u64, 0u64, 0u32);
        let mut reader = Reader::at(self.buf, from);
        while !reader.is_empty() {
            let (number, _) = reader.field()?;
            if number != prev {
                let bit = bit(number);
                split |= seen & bit;
                seen |= bit;
                prev = number;
            }
        }
        self.split = Some(split);
        Ok(split)
    }
}

/// The bit of field `number` in a set of field numbers (none for numbers from 64, which the
/// schema has not).
fn bit(number: u32) -> u64 {
    1u64.checked_shl(number).unwrap_or(0)
}

enum Pending<'de> {
    None,
    Str(&'de str),
    One(&'static Field, Value<'de>),
    /// A repeated or map field whose first entry starts at `from` in `buf`, its entries in one
    /// run when `run`.
    All {
        field: &'static Field,
        buf: &'de [u8],
        from: usize,
        run: bool,
    },
}

struct Fields<'de> {
    levels: [Level<'de>; MAX_INLINE],
    len: usize,
    types: Option<(&'de str, &'de str)>,
    typed: u8,
    pending: Pending<'de>,
    depth: u16,
    ctx: Ctx,
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        if let Some((api_version, kind)) = self.types
            && self.typed < 2
        {
            let (key, value) = if self.typed == 0 { ("apiVersion", api_version) } else { ("kind", kind) };
            self.typed += 1;
            self.pending = Pending::Str(value);
            return seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some);
        }
        loop {
            let level = &mut self.levels[self.len - 1];
            if level.reader.is_empty() {
                if self.len == 1 {
                    return Ok(None);
                }
                self.len -= 1;
                continue;
            }
            let from = level.reader.pos();
            let (number, value) = level.reader.field()?;
            if level.consumed & bit(number) != 0 {
                continue;
            }
            let Some(field) = level.msg.field(number) else { continue };
            if field.managed_fields && self.ctx.drop_managed_fields {
                continue;
            }
            match field.shape {
                Shape::Single => {
                    check_wire(field, field.kind, &value)?;
                    if field.inline {
                        if let (Value::Bytes(inner), Kind::Message(m)) = (value, field.kind) {
                            if self.len == MAX_INLINE {
                                return Err(Error::TooDeep(MAX_INLINE as u16));
                            }
                            self.levels[self.len] = Level::new(inner, m);
                            self.len += 1;
                        }
                        continue;
                    }
                    if field.omit_zero && value.is_zero() {
                        continue;
                    }
                    if matches!(field.kind, Kind::Time | Kind::MicroTime) && value.is_zero() {
                        // A zero time is written as an empty message; JSON writes null.
                        continue;
                    }
                    self.pending = Pending::One(field, value);
                }
                Shape::Repeated | Shape::Map(_) => {
                    level.consumed |= bit(number);
                    let run = level.split(from)? & bit(number) == 0;
                    self.pending = Pending::All { field, buf: level.buf, from, run };
                }
            }
            return seed.deserialize(BorrowedStrDeserializer::new(field.json)).map(Some);
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let (depth, ctx) = (self.depth, self.ctx);
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => Err(de::Error::custom("a value was asked for before its key")),
            Pending::Str(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
            Pending::One(field, value) => seed.deserialize(ValueDe { kind: field.kind, value, depth, ctx }),
            Pending::All { field, buf, from, run } => {
                let entries = Entries { reader: Reader::at(buf, from), field, run, depth, ctx, value: None };
                match field.shape {
                    Shape::Map(_) => seed.deserialize(MapDe(entries)),
                    _ => seed.deserialize(SeqDe(entries)),
                }
            }
        }
    }
}

/// The apiVersion and kind JSON gives a nested message of type `msg`: the items of a
/// `PartialObjectMetadataList` carry theirs (other lists' items do not).
pub(crate) fn implied_types(msg: u16) -> Option<(&'static str, &'static str)> {
    (msg == PARTIAL_OBJECT_METADATA).then_some(("meta.k8s.io/v1", "PartialObjectMetadata"))
}

/// A wire type that cannot hold `kind` is an error (a schema mismatch or corrupt data).
fn check_wire(field: &Field, kind: Kind, value: &Value<'_>) -> Result<(), Error> {
    let ok = match kind {
        Kind::Int | Kind::Bool => matches!(value, Value::Varint(_)),
        Kind::Double => matches!(value, Value::Fixed64(_) | Value::Fixed32(_)),
        _ => matches!(value, Value::Bytes(_)),
    };
    if ok { Ok(()) } else { Err(Error::FieldType { field: field.json, wire: value.wire_name() }) }
}

/// The entries of one repeated or map field, wherever they stand in the message.
struct Entries<'de> {
    reader: Reader<'de>,
    field: &'static Field,
    /// The entries are all in one run from the reader's position: the first other field
    /// ends them.
    run: bool,
    depth: u16,
    ctx: Ctx,
    /// A map entry's value, between its key and its value.
    value: Option<Value<'de>>,
}

impl<'de> Entries<'de> {
    fn next_entry(&mut self) -> Result<Option<Value<'de>>, Error> {
        while !self.reader.is_empty() {
            let (number, value) = self.reader.field()?;
            if number == self.field.number {
                return Ok(Some(value));
            }
            if self.run {
                break;
            }
        }
        Ok(None)
    }

    fn value(&self, kind: Kind, value: Value<'de>) -> Result<ValueDe<'de>, Error> {
        check_wire(self.field, kind, &value)?;
        Ok(ValueDe { kind, value, depth: self.depth, ctx: self.ctx })
    }
}

struct SeqDe<'de>(Entries<'de>);

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.0.next_entry()? {
            None => Ok(None),
            Some(v) => seed.deserialize(self.0.value(self.0.field.kind, v)?).map(Some),
        }
    }
}

struct MapDe<'de>(Entries<'de>);

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.0.next_entry()? else { return Ok(None) };
        let Value::Bytes(entry) = entry else {
            return Err(Error::FieldType { field: self.0.field.json, wire: entry.wire_name() });
        };
        let Shape::Map(key_kind) = self.0.field.shape else {
            return Err(de::Error::custom("a map field without a key kind"));
        };
        let (mut key, mut value) = (None, None);
        for f in super::wire::fields(entry) {
            match f? {
                (1, v) => key = Some(v),
                (2, v) => value = Some(v),
                _ => {}
            }
        }
        // A missing key or value is the zero of its kind.
        let zero = |kind: Kind| match kind {
            Kind::Int | Kind::Bool => Value::Varint(0),
            _ => Value::Bytes(&[]),
        };
        self.0.value = Some(value.unwrap_or_else(|| zero(self.0.field.kind)));
        let key = key.unwrap_or_else(|| zero(key_kind));
        seed.deserialize(self.0.value(key_kind, key)?).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.0.value.take().ok_or_else(|| de::Error::custom("a map value without its key"))?;
        seed.deserialize(self.0.value(self.0.field.kind, value)?)
    }
}

/// A varint field's value as an `int64` (`int32` fields are sign-extended on the wire), 0
/// when absent or not a varint.
fn int(value: Option<Value<'_>>) -> i64 {
    match value {
        Some(Value::Varint(v)) => v as i64,
        _ => 0,
    }
}

/// One value of a known kind.
struct ValueDe<'de> {
    kind: Kind,
    value: Value<'de>,
    depth: u16,
    ctx: Ctx,
}

impl<'de> ValueDe<'de> {
    fn bytes(&self) -> &'de [u8] {
        match self.value {
            Value::Bytes(b) => b,
            _ => &[],
        }
    }

    /// Field `number` of this message-valued value.
    fn sub(&self, number: u32) -> Result<Option<Value<'de>>, Error> {
        Ok(self.subs::<1>([number])?[0])
    }

    /// Fields `numbers` of this message-valued value, read in one pass (the last of each
    /// number, as protobuf has it).
    fn subs<const N: usize>(&self, numbers: [u32; N]) -> Result<[Option<Value<'de>>; N], Error> {
        let mut found = [None; N];
        let mut reader = Reader::new(self.bytes());
        while !reader.is_empty() {
            let (n, v) = reader.field()?;
            if let Some(i) = numbers.iter().position(|&want| want == n) {
                found[i] = Some(v);
            }
        }
        Ok(found)
    }

    fn sub_str(&self, number: u32) -> Result<&'de str, Error> {
        match self.sub(number)? {
            Some(Value::Bytes(b)) => utf8(b),
            _ => Ok(""),
        }
    }

    fn sub_int(&self, number: u32) -> Result<i64, Error> {
        Ok(int(self.sub(number)?))
    }

    /// The raw bytes of a RawExtension (JSON, or an embedded envelope) or `None` when empty.
    fn raw(&self) -> Result<&'de [u8], Error> {
        match self.sub(1)? {
            Some(Value::Bytes(b)) => Ok(b),
            _ => Ok(&[]),
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Str => visitor.visit_borrowed_str(utf8(self.bytes())?),
            Kind::Int => match self.value {
                Value::Varint(v) => visitor.visit_i64(v as i64),
                _ => visitor.visit_i64(0),
            },
            Kind::Bool => visitor.visit_bool(!self.value.is_zero()),
            Kind::Double => match self.value {
                Value::Fixed64(v) => visitor.visit_f64(f64::from_bits(v)),
                Value::Fixed32(v) => visitor.visit_f64(f64::from(f32::from_bits(v))),
                _ => visitor.visit_f64(0.0),
            },
            Kind::Bytes => {
                use base64::Engine;
                visitor.visit_string(base64::engine::general_purpose::STANDARD.encode(self.bytes()))
            }
            Kind::Time | Kind::MicroTime => {
                let [seconds, nanos] = self.subs([1, 2])?;
                let (seconds, nanos, micro) = (int(seconds), int(nanos) as i32, self.kind == Kind::MicroTime);
                let mut buf = [0; time::RFC3339_MAX];
                match time::rfc3339_in(seconds, nanos, micro, &mut buf) {
                    Some(stamp) => visitor.visit_str(stamp),
                    None => visitor.visit_string(time::rfc3339(seconds, nanos, micro)),
                }
            }
            Kind::Duration => visitor.visit_string(time::go_duration(self.sub_int(1)?)),
            Kind::Quantity => visitor.visit_borrowed_str(self.sub_str(1)?),
            Kind::IntOrString => {
                let [kind, int_val, str_val] = self.subs([1, 2, 3])?;
                if int(kind) == 1 {
                    visitor.visit_borrowed_str(match str_val {
                        Some(Value::Bytes(b)) => utf8(b)?,
                        _ => "",
                    })
                } else {
                    visitor.visit_i64(int(int_val) as i32 as i64)
                }
            }
            Kind::Raw => {
                let raw = self.raw()?;
                if raw.is_empty() {
                    visitor.visit_unit()
                } else if raw.starts_with(MAGIC) {
                    let env = Envelope::parse(raw)?;
                    MessageDe::from_envelope(&env, self.depth + 1, self.ctx)?.deserialize_any(visitor)
                } else {
                    // Checked as UTF-8 at once, the JSON's strings are not checked one by one.
                    let mut json = serde_json::Deserializer::from_str(utf8(raw)?);
                    de::Deserializer::deserialize_any(&mut json, visitor).map_err(Error::Json)
                }
            }
            Kind::StrList => {
                static ITEMS: Field = Field {
                    number: 1,
                    json: "items",
                    kind: Kind::Str,
                    shape: Shape::Repeated,
                    omit_zero: false,
                    inline: false,
                    managed_fields: false,
                };
                let entries = Entries {
                    reader: Reader::new(self.bytes()),
                    field: &ITEMS,
                    run: false,
                    depth: self.depth,
                    ctx: self.ctx,
                    value: None,
                };
                visitor.visit_seq(SeqDe(entries))
            }
            Kind::OneOf(msg) => {
                let union = message(msg);
                let mut flag = false;
                for f in super::wire::fields(self.bytes()) {
                    let (n, v) = f?;
                    let Some(member) = union.field(n) else { continue };
                    match (member.kind, member.shape, v) {
                        (Kind::Message(_), Shape::Single, v) => {
                            check_wire(member, member.kind, &v)?;
                            return ValueDe { kind: member.kind, value: v, ..self }.deserialize_any(visitor);
                        }
                        (Kind::Bool, Shape::Single, Value::Varint(b)) => flag = b != 0,
                        _ => {}
                    }
                }
                match union.fields.iter().find(|f| f.shape == Shape::Repeated) {
                    Some(list) => visitor.visit_seq(SeqDe(Entries {
                        reader: Reader::new(self.bytes()),
                        field: list,
                        run: false,
                        depth: self.depth,
                        ctx: self.ctx,
                        value: None,
                    })),
                    None => visitor.visit_bool(flag),
                }
            }
            Kind::Message(msg) => MessageDe {
                buf: self.bytes(),
                msg,
                types: implied_types(msg),
                depth: self.depth + 1,
                ctx: self.ctx,
            }
            .deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.kind == Kind::Raw && self.raw()?.is_empty() {
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.kind {
            Kind::Str => {
                let s = BorrowedStrDeserializer::<'de, Error>::new(utf8(self.bytes())?);
                de::Deserializer::deserialize_enum(s, name, variants, visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> de::Deserializer<'de> for MessageDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(self.access()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

impl<'de> de::Deserializer<'de> for SeqDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

impl<'de> de::Deserializer<'de> for MapDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}
