//! Names as Traefik shows them outside its config: qualified with their provider
//! (`app@file`, `api@internal`, `shop@redis`). Config time only.

/// `name@file` for an entity of the file provider (held by its bare name); a name that carries
/// its provider already (`@internal`, `@redis`, `@http`, `@etcd`) as it is. Traefik's API,
/// metrics labels, access log and spans all name routers, services and middlewares so.
pub fn qualified(name: &str) -> String {
    if name.contains('@') {
        name.to_string()
    } else {
        format!("{name}@file")
    }
}

#[cfg(test)]
mod tests {
    use super::qualified;

    #[test]
    fn bare_names_are_the_file_providers_and_qualified_ones_stay() {
        assert_eq!(qualified("app"), "app@file");
        assert_eq!(qualified("api@internal"), "api@internal");
        assert_eq!(qualified("shop@redis"), "shop@redis");
    }
}
