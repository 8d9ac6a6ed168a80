//! INTEGER contents as decimal text.

use alloc::string::String;
use alloc::vec::Vec;

/// A DER INTEGER's contents (big-endian two's complement) in decimal, as Go's
/// `big.Int.String()` prints a serial number: a leading `-` for a negative value (not allowed
/// by RFC 5280, seen in the wild).
pub fn integer_decimal(be: &[u8]) -> String {
    let negative = be.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude: Vec<u8> = be.to_vec();
    if negative {
        // Two's complement: invert and add one.
        let mut carry = true;
        for b in magnitude.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    let mut digits = Vec::new();
    while magnitude.iter().any(|b| *b != 0) {
        let mut remainder = 0u32;
        for b in &mut magnitude {
            let current = (remainder << 8) | u32::from(*b);
            *b = u8::try_from(current / 10).unwrap_or(0);
            remainder = current % 10;
        }
        digits.push(b'0' + u8::try_from(remainder).unwrap_or(0));
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_go_prints_big_ints() {
        assert_eq!(integer_decimal(&[0x00]), "0");
        assert_eq!(integer_decimal(&[0x01]), "1");
        assert_eq!(integer_decimal(&[0x00, 0xff]), "255");
        assert_eq!(integer_decimal(&[0xff]), "-1");
        assert_eq!(integer_decimal(&[0x80]), "-128");
        assert_eq!(
            integer_decimal(&[1, 0, 0, 0, 0, 0, 0, 0, 0]),
            "18446744073709551616"
        );
    }
}
