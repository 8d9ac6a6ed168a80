//! MD5-crypt, the `$apr1$` (Apache) and `$1$` (FreeBSD) password hashes: 1000 rounds of MD5
//! over password and salt. About 1000 MD5 blocks per verification (tens of microseconds).

use md5::{Digest, Md5};

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Output byte order of the final digest in the crypt encoding.
const SWAPS: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

/// The full hash string `magic + salt + "$" + 22 characters` for `password`, with `magic`
/// `$apr1$` or `$1$` and the salt as stored in the hash (up to 8 characters).
pub fn md5_crypt(password: &[u8], salt: &[u8], magic: &[u8]) -> Vec<u8> {
    let mut d = Md5::new();
    d.update(password);
    d.update(magic);
    d.update(salt);

    let mut d2 = Md5::new();
    d2.update(password);
    d2.update(salt);
    d2.update(password);
    let mixin = d2.finalize();
    for chunk in password.chunks(16) {
        d.update(&mixin[..chunk.len()]);
    }
    let mut i = password.len();
    while i != 0 {
        if i & 1 == 0 {
            d.update(&password[..1]);
        } else {
            d.update([0u8]);
        }
        i >>= 1;
    }
    let mut last = d.finalize();

    for round in 0..1000 {
        let mut r = Md5::new();
        if round & 1 == 0 {
            r.update(last);
        } else {
            r.update(password);
        }
        if round % 3 != 0 {
            r.update(salt);
        }
        if round % 7 != 0 {
            r.update(password);
        }
        if round & 1 == 0 {
            r.update(password);
        } else {
            r.update(last);
        }
        last = r.finalize();
    }

    let mut out = Vec::with_capacity(magic.len() + salt.len() + 23);
    out.extend_from_slice(magic);
    out.extend_from_slice(salt);
    out.push(b'$');
    let (mut v, mut bits) = (0u32, 0u32);
    for &i in &SWAPS {
        v |= u32::from(last[i]) << bits;
        bits += 8;
        while bits > 6 {
            out.push(ITOA64[(v & 0x3f) as usize]);
            v >>= 6;
            bits -= 6;
        }
    }
    out.push(ITOA64[(v & 0x3f) as usize]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_apr1_hashes_are_reproduced() {
        // From `htpasswd -nbm bob s3cret-m` and `htpasswd -nbm frank <long password>`.
        assert_eq!(
            md5_crypt(b"s3cret-m", b"ehJ3QxtF", b"$apr1$"),
            b"$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1".to_vec()
        );
        assert_eq!(
            md5_crypt(
                b"a-very-long-password-longer-than-16-bytes",
                b"YfNHDciQ",
                b"$apr1$"
            ),
            b"$apr1$YfNHDciQ$E5wPxZvc/87UKaCFIG1Jx/".to_vec()
        );
    }

    #[test]
    fn freebsd_md5_crypt_hashes_are_reproduced() {
        // From `openssl passwd -1 -salt saltsalt md5-one`.
        assert_eq!(
            md5_crypt(b"md5-one", b"saltsalt", b"$1$"),
            b"$1$saltsalt$0KYFNnFDUJK/pff/lVOai.".to_vec()
        );
    }
}
