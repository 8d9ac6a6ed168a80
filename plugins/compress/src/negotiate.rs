//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3) over the encodings a middleware offers.

use plugin_sdk::compression::Encoding;

/// The encoding to answer with: the acceptable one (q > 0) with the highest q-value, ties
/// going to the earlier in `offered` (the middleware's preference). `*` stands for every
/// offered encoding the header does not name. `None` when nothing offered is acceptable (or the
/// header lists none of them): the response goes out as it is.
pub fn choose(accept_encoding: &str, offered: &[Encoding]) -> Option<Encoding> {
    let mut wildcard: Option<f32> = None;
    let mut named: Vec<(Encoding, f32)> = Vec::new();
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if token == "*" {
            wildcard = Some(q);
        } else if let Some(encoding) = Encoding::from_token(token) {
            named.push((encoding, q));
        }
    }
    let mut best: Option<(Encoding, f32)> = None;
    for &encoding in offered {
        let q = named
            .iter()
            .find(|(e, _)| *e == encoding)
            .map(|(_, q)| *q)
            .or(wildcard);
        if let Some(q) = q
            && q > 0.0
            && best.is_none_or(|(_, b)| q > b)
        {
            best = Some((encoding, q));
        }
    }
    best.map(|(e, _)| e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Brotli, Gzip, Zstd};

    const ALL: &[Encoding] = &[Zstd, Brotli, Gzip];

    #[test]
    fn the_highest_q_value_wins_and_ties_go_to_the_middlewares_order() {
        assert_eq!(choose("gzip", ALL), Some(Gzip));
        assert_eq!(choose("gzip, br", ALL), Some(Brotli));
        assert_eq!(choose("gzip;q=1.0, br;q=0.5", ALL), Some(Gzip));
        assert_eq!(choose("zstd;q=0.1, gzip;q=0.2", ALL), Some(Gzip));
        assert_eq!(choose("br;q=0, gzip;q=0", ALL), None);
        assert_eq!(choose("identity", ALL), None);
        assert_eq!(choose("*", ALL), Some(Zstd));
        assert_eq!(choose("*;q=0.5, zstd;q=0", ALL), Some(Brotli));
        assert_eq!(choose("br", &[Gzip]), None);
        assert_eq!(choose("", ALL), None);
    }
}
