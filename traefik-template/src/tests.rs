//! Behaviour checked against what Go's `text/template` with sprig (and Traefik's funcs)
//! renders for the same input.

use crate::{Limits, TemplateError, render};

fn env(name: &str) -> Option<String> {
    match name {
        "DOMAIN" => Some("example.com".to_string()),
        "PORT" => Some("8080".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn ok(template: &str) -> String {
    match render(template, &env, Limits::default()) {
        Ok(out) => out.text,
        Err(e) => panic!("{template:?} failed: {e}"),
    }
}

fn err(template: &str) -> TemplateError {
    match render(template, &env, Limits::default()) {
        Ok(out) => panic!("{template:?} rendered {:?}, expected an error", out.text),
        Err(e) => e,
    }
}

#[test]
fn text_without_actions_is_unchanged() {
    assert_eq!(ok("http:\n  routers: {}\n"), "http:\n  routers: {}\n");
}

#[test]
fn traefik_range_until_fixture() {
    let out = ok("http:\n{{ range $i, $e := until 3 }}\n  r{{ $e }}: {{ $i }}\n{{ end }}");
    assert_eq!(out, "http:\n\n  r0: 0\n\n  r1: 1\n\n  r2: 2\n");
}

#[test]
fn trim_markers_remove_adjacent_whitespace() {
    assert_eq!(ok("a  {{- 1 -}}  \n b"), "a1b");
    assert_eq!(ok("{{- /* comment */ -}}\n  x"), "x");
    assert_eq!(ok("a {{/* c */}} b"), "a  b");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(ok("a {{-3}}"), "a -3");
}

#[test]
fn env_default_and_pipelines() {
    assert_eq!(ok(r#"{{ env "DOMAIN" }}"#), "example.com");
    assert_eq!(ok(r#"{{ env "NOPE" }}"#), "");
    assert_eq!(ok(r#"{{ env "NOPE" | default "fallback" }}"#), "fallback");
    assert_eq!(ok(r#"{{ env "EMPTY" | default "x" }}"#), "x");
    assert_eq!(
        ok(r#"{{ env "DOMAIN" | upper | quote }}"#),
        "\"EXAMPLE.COM\""
    );
    assert_eq!(ok(r#"{{ "a-b-c" | replace "-" "." }}"#), "a.b.c");
    assert_eq!(
        ok(r#"{{ expandenv "host.$DOMAIN:${PORT}" }}"#),
        "host.example.com:8080"
    );
}

#[test]
fn variables_declare_and_assign_with_block_scope() {
    assert_eq!(ok(r#"{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}"#), "12");
    assert_eq!(
        ok(r#"{{ $d := env "DOMAIN" }}{{ if $d }}{{ $d }}{{ end }}"#),
        "example.com"
    );
    assert_eq!(
        err("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}").reason,
        "undefined variable \"$y\""
    );
    assert_eq!(ok("{{ $ }}"), "false");
}

#[test]
fn if_else_if_else_and_with() {
    let t = r#"{{ if eq (env "PORT") "80" }}a{{ else if eq (env "PORT") "8080" }}b{{ else }}c{{ end }}"#;
    assert_eq!(ok(t), "b");
    assert_eq!(
        ok(r#"{{ with env "DOMAIN" }}[{{ . }}]{{ else }}none{{ end }}"#),
        "[example.com]"
    );
    assert_eq!(
        ok(r#"{{ with env "NOPE" }}[{{ . }}]{{ else }}none{{ end }}"#),
        "none"
    );
    assert_eq!(
        ok("{{ if and 1 0 }}y{{ else }}n{{ end }}{{ or 0 \"\" 3 }}"),
        "n3"
    );
    assert_eq!(ok("{{ if not false }}y{{ end }}"), "y");
}

#[test]
fn range_over_lists_maps_ints_with_break_continue_and_else() {
    assert_eq!(ok(r#"{{ range list "a" "b" }}{{ . }},{{ end }}"#), "a,b,");
    assert_eq!(
        ok(r#"{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}={{ $v }};{{ end }}"#),
        "a=1;b=2;"
    );
    assert_eq!(ok("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(
        ok(
            "{{ range $i := until 10 }}{{ if eq $i 2 }}{{ continue }}{{ end }}{{ if gt $i 4 }}{{ break }}{{ end }}{{ $i }}{{ end }}"
        ),
        "0134"
    );
    assert_eq!(ok("{{ range list }}x{{ else }}empty{{ end }}"), "empty");
    assert_eq!(
        ok(r#"{{ range split "a,b" "," }}<{{ . }}>{{ end }}"#),
        "<a><b>"
    );
    assert_eq!(
        ok(r#"{{ range splitList "," "a,b" }}<{{ . }}>{{ end }}"#),
        "<a><b>"
    );
}

#[test]
fn printing_values_as_go_does() {
    assert_eq!(ok("{{ list 1 \"a\" true }}"), "[1 a true]");
    assert_eq!(ok("{{ dict \"k\" 1 }}"), "map[k:1]");
    assert_eq!(
        ok("{{ default 3 nil }}{{ index (dict) \"missing\" }}"),
        "3<no value>"
    );
    assert_eq!(ok("{{ 1.5 }} {{ 2.0 }} {{ 1e21 }}"), "1.5 2 1e+21");
    assert_eq!(ok("{{ print 1 2 \"a\" 3 }}"), "1 2a3");
}

#[test]
fn printf_verbs() {
    assert_eq!(ok(r#"{{ printf "%s:%d" "host" 80 }}"#), "host:80");
    assert_eq!(
        ok(r#"{{ printf "%05d|%-4s|%4s|%x|%q" 42 "a" "b" 255 "q\"" }}"#),
        "00042|a   |   b|ff|\"q\\\"\""
    );
    assert_eq!(
        ok(r#"{{ printf "%.2f %v %t %%" 3.14159 "v" true }}"#),
        "3.14 v true %"
    );
    assert_eq!(ok(r#"{{ printf "%d" }}"#), "%!d(MISSING)");
    assert_eq!(ok(r#"{{ printf "%d" "x" }}"#), "%!d(string=x)");
}

#[test]
fn sprig_strings() {
    assert_eq!(
        ok(r#"{{ lower "AbC" }}{{ upper "x" }}{{ title "hello world" }}"#),
        "abcXHello World"
    );
    assert_eq!(
        ok(
            r#"{{ trim "  x  " }}|{{ trimPrefix "www." "www.a.com" }}|{{ trimSuffix ".com" "a.com" }}"#
        ),
        "x|a.com|a"
    );
    assert_eq!(
        ok(r#"{{ trimAll "$" "$5.00$" }}|{{ nospace " a b " }}|{{ repeat 3 "ab" }}"#),
        "5.00|ab|ababab"
    );
    assert_eq!(
        ok(r#"{{ substr 0 3 "hello" }}|{{ trunc 2 "hello" }}|{{ trunc -2 "hello" }}"#),
        "hel|he|lo"
    );
    assert_eq!(
        ok(
            r#"{{ contains "ell" "hello" }}{{ hasPrefix "he" "hello" }}{{ hasSuffix "x" "hello" }}"#
        ),
        "truetruefalse"
    );
    assert_eq!(
        ok(r#"{{ squote "a" }} {{ quote "a" 1 }} {{ cat "a" nil "b" }}"#),
        "'a' \"a\" \"1\" a b"
    );
    assert_eq!(ok(r#"{{ join "," (list "a" "b") }}"#), "a,b");
    assert_eq!(
        ok("{{ \"a\\nb\" | indent 2 }}|{{ \"x\" | nindent 2 }}"),
        "  a\n  b|\n  x"
    );
    assert_eq!(
        ok(r#"{{ normalize "my_service.example.com" }}"#),
        "my-service-example-com"
    );
    assert_eq!(
        ok(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#),
        "-W-xxW-"
    );
    assert_eq!(
        ok(r#"{{ regexMatch "^[a-z]+$" "abc" }}{{ regexFind "[0-9]+" "ab12cd" }}"#),
        "true12"
    );
}

#[test]
fn sprig_lists_dicts_math_and_defaults() {
    assert_eq!(
        ok("{{ until 3 }}{{ untilStep 0 10 4 }}{{ seq 3 }}"),
        "[0 1 2][0 4 8]1 2 3"
    );
    assert_eq!(
        ok("{{ first (list 1 2) }}{{ last (list 1 2) }}{{ rest (list 1 2 3) }}"),
        "12[2 3]"
    );
    assert_eq!(
        ok("{{ append (list 1) 2 }}{{ prepend (list 1) 0 }}{{ concat (list 1) (list 2) }}"),
        "[1 2][0 1][1 2]"
    );
    assert_eq!(
        ok("{{ uniq (list 1 1 2) }}{{ has 2 (list 1 2) }}{{ without (list 1 2 3) 2 }}"),
        "[1 2]true[1 3]"
    );
    assert_eq!(
        ok(
            "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }}{{ hasKey $d \"b\" }}{{ keys $d }}"
        ),
        "map[a:1 b:2]true[a b]"
    );
    assert_eq!(
        ok("{{ get (dict \"a\" 1) \"a\" }}[{{ get (dict) \"x\" }}]"),
        "1[]"
    );
    assert_eq!(
        ok(
            "{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ add1 \"4\" }} {{ max 1 5 3 }}"
        ),
        "6 3 6 3 1 5 5"
    );
    assert_eq!(
        ok("{{ ternary \"y\" \"n\" true }}{{ coalesce 0 \"\" \"z\" }}{{ empty \"\" }}"),
        "yztrue"
    );
    assert_eq!(
        ok("{{ toJson (dict \"a\" (list 1 \"x\")) }}"),
        r#"{"a":[1,"x"]}"#
    );
    assert_eq!(ok("{{ b64enc \"hi\" }}{{ b64dec \"aGk=\" }}"), "aGk=hi");
    assert_eq!(
        ok("{{ len \"abc\" }}{{ len (list 1) }}{{ index (list 5 6) 1 }}"),
        "316"
    );
}

#[test]
fn errors_name_the_line_and_the_reason() {
    let e = err("a\nb\n{{ nosuchfunc }}\n");
    assert_eq!(
        (e.line, e.reason.as_str()),
        (3, "function \"nosuchfunc\" not defined")
    );
    assert_eq!(
        err("{{ if true }}\nx").reason,
        "unexpected EOF: {{if}} has no {{end}}"
    );
    assert_eq!(err("x\n{{ end }}").line, 2);
    assert_eq!(
        err("{{ \"unterminated }}").reason,
        "unterminated quoted string"
    );
    assert_eq!(err("{{ 1").reason, "unclosed action");
    assert_eq!(err("{{ $x }}").reason, "undefined variable \"$x\"");
    assert_eq!(err("{{ break }}").reason, "{{break}} outside {{range}}");
    assert_eq!(
        err("{{ define \"x\" }}{{ end }}").reason,
        "named templates (define) are not supported in config files"
    );
    let e = err("\n{{ fail \"DOMAIN must be set\" }}");
    assert_eq!(
        (e.line, e.reason.as_str()),
        (2, "error calling fail: DOMAIN must be set")
    );
    assert_eq!(
        err("{{ div 1 0 }}").reason,
        "error calling div: integer overflow or division by zero"
    );
    assert_eq!(
        err("{{ eq 1 \"1\" }}").reason,
        "error calling eq: incompatible types for comparison: int and string"
    );
    assert_eq!(
        err("{{ .Field }}").reason,
        "can't evaluate field Field in type bool"
    );
    assert_eq!(
        err("{{ 1 2 }}").reason,
        "can't give argument to non-function"
    );
}

#[test]
fn runaway_templates_stop_at_the_limits() {
    let limits = Limits {
        max_output_bytes: 1000,
        max_steps: 500,
    };
    let e = render("{{ range until 100000 }}x{{ end }}", &env, limits).unwrap_err();
    assert!(e.reason.contains("steps"), "{e}");
    let e = render("{{ range until 400 }}xxxxxxxxxx{{ end }}", &env, limits).unwrap_err();
    assert!(e.reason.contains("output exceeds"), "{e}");
    let e = render(
        "{{ range $i := until 2000000 }}{{ end }}",
        &env,
        Limits::default(),
    )
    .unwrap_err();
    assert!(e.reason.contains("more than"), "{e}");
}

#[test]
fn yaml_anchors_pass_through_untouched() {
    let t = "x: &a {{ env \"PORT\" }}\ny: *a\n";
    assert_eq!(ok(t), "x: &a 8080\ny: *a\n");
}

#[test]
fn each_output_line_knows_the_template_line_it_came_from() {
    let template = "a: 1\n{{ range until 2 }}\nr{{ . }}:\n  x: 1\n{{ end }}\nz: {{ \"multi\\nline\" }}\nend: 1\n";
    let rendered = render(template, &env, Limits::default()).unwrap();
    assert_eq!(
        rendered.text,
        "a: 1\n\nr0:\n  x: 1\n\nr1:\n  x: 1\n\nz: multi\nline\nend: 1\n"
    );
    // Output lines: a(1) ""(2) r0(3) x(4) ""(2) r1(3) x(4) ""(5) z(6) line(6) end(7).
    assert_eq!(rendered.line_sources, vec![1, 2, 3, 4, 2, 3, 4, 5, 6, 6, 7]);
    assert_eq!(rendered.source_line(9), 6);
    assert_eq!(rendered.source_line(99), 7);
}
