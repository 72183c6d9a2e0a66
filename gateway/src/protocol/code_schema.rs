//! The wincode schema that writes a [`WireCode`] enum as its `u32` code.
//!
//! Why not derive `SchemaRead`/`SchemaWrite` on the enums: wincode's derive
//! writes the same bytes (a `u32` variant index), but when it meets an unknown
//! index it returns `InvalidTagEncoding(n)`, which does not say *which* field
//! was bad. A gateway that answers "bad side" instead of "bad enum somewhere"
//! is easier to debug against, and `SessionRejectReason` needs a code mapping
//! of its own anyway (its `DecodeFailed(kind)` is one flat code on the wire).
//! wincode offers custom schemas only through its `unsafe` traits, so this
//! one small generic adapter is the only `unsafe` of the protocol; every field
//! of such a type is written `#[wincode(with = "Code<T>")]`.
//!
//! The code itself is written and read by wincode's own `u32` schema, so it
//! follows the configuration exactly as bincode's variant index does.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use wincode::config::ConfigCore;
use wincode::error::{ReadError, ReadResult, WriteResult};
use wincode::io::{Reader, Writer};
use wincode::{SchemaRead, SchemaWrite, TypeMeta};

use super::codes::WireCode;

/// Schema adapter: a `T: WireCode` field travels as `T::code()`, a `u32`.
///
/// Decoding an unknown code fails with `ReadError::InvalidValue(T::FIELD)`,
/// which the protocol turns into `DecodeError::BadEnumValue { field }`.
#[derive(Debug)]
pub struct Code<T>(PhantomData<T>);

// SAFETY: `TYPE_META` is `u32`'s own (with zero-copy cleared, because the
// in-memory enum is not its code), and `size_of`/`write` delegate to `u32`'s
// schema for the one `u32` they write, so the declared size (static or not)
// is exactly the number of bytes written.
unsafe impl<C: ConfigCore, T: WireCode> SchemaWrite<C> for Code<T> {
    type Src = T;

    const TYPE_META: TypeMeta = <u32 as SchemaWrite<C>>::TYPE_META.keep_zero_copy(false);

    #[inline]
    fn size_of(src: &T) -> WriteResult<usize> {
        <u32 as SchemaWrite<C>>::size_of(&src.code())
    }

    #[inline]
    fn write(writer: impl Writer, src: &T) -> WriteResult<()> {
        <u32 as SchemaWrite<C>>::write(writer, &src.code())
    }
}

// SAFETY: `read` consumes exactly one `u32` through `u32`'s own schema, so
// `u32`'s `TYPE_META` size (with zero-copy cleared: not every `u32` is a valid
// `T`) is the number of bytes read. `dst` is written only on the `Ok` path,
// after the code is known to be valid, as `SchemaRead::read` requires.
unsafe impl<'de, C: ConfigCore, T: WireCode> SchemaRead<'de, C> for Code<T> {
    type Dst = T;

    const TYPE_META: TypeMeta = <u32 as SchemaRead<'de, C>>::TYPE_META.keep_zero_copy(false);

    #[inline]
    fn read(reader: impl Reader<'de>, dst: &mut MaybeUninit<T>) -> ReadResult<()> {
        let code = <u32 as SchemaRead<'de, C>>::get(reader)?;
        match T::from_code(code) {
            Some(value) => {
                dst.write(value);
                Ok(())
            }
            None => Err(ReadError::InvalidValue(T::FIELD)),
        }
    }
}
