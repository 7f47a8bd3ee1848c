//! English and Chinese: one JSON catalogue per page, `i18n/<page>.json` =
//! `{"en": {key: text}, "zh": {key: text}}`, embedded in the binary. Templates read
//! `t.<page>.<key>`. Both languages must have exactly the same keys (a test checks).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap};
use serde_json::Value;

/// Every catalogue: (page, JSON). Add a page's file here.
pub const CATALOGUES: &[(&str, &str)] = &[
    ("common", include_str!("../i18n/common.json")),
    ("auth", include_str!("../i18n/auth.json")),
    ("overview", include_str!("../i18n/overview.json")),
    ("groups", include_str!("../i18n/groups.json")),
    ("try", include_str!("../i18n/try.json")),
    ("settings", include_str!("../i18n/settings.json")),
    ("usage", include_str!("../i18n/usage.json")),
    ("packs", include_str!("../i18n/packs.json")),
    ("bills", include_str!("../i18n/bills.json")),
    ("notices", include_str!("../i18n/notices.json")),
    ("quote", include_str!("../i18n/quote.json")),
    ("keys", include_str!("../i18n/keys.json")),
    ("sdk", include_str!("../i18n/sdk.json")),
    ("accounts", include_str!("../i18n/accounts.json")),
    ("settlement", include_str!("../i18n/settlement.json")),
    ("health", include_str!("../i18n/health.json")),
    ("users", include_str!("../i18n/users.json")),
    ("audit", include_str!("../i18n/audit.json")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Zh,
}

pub const LANG_COOKIE: &str = "renlian_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language cookie if set, else the browser's first preference among ours.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(l) = crate::session::cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }
}

fn parse_all() -> Result<BTreeMap<&'static str, Value>, String> {
    let mut pages = BTreeMap::new();
    for (page, text) in CATALOGUES {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("i18n/{page}.json: {e}"))?;
        pages.insert(*page, v);
    }
    Ok(pages)
}

/// The catalogue of one language, as the templates see it: `{page: {key: text}}`.
pub fn catalogue(lang: Lang) -> &'static minijinja::Value {
    static EN: OnceLock<minijinja::Value> = OnceLock::new();
    static ZH: OnceLock<minijinja::Value> = OnceLock::new();
    let cell = match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    };
    cell.get_or_init(|| {
        // The catalogues are compiled in and checked by the tests; a malformed one is a
        // build defect, shown as missing text rather than a crash.
        let pages = parse_all().unwrap_or_default();
        let one: BTreeMap<&str, Value> = pages
            .into_iter()
            .map(|(page, v)| (page, v.get(lang.code()).cloned().unwrap_or(Value::Null)))
            .collect();
        minijinja::Value::from_serialize(&one)
    })
}

/// The keys of a catalogue language, flattened (`a.b.c`), for the equality check.
pub fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                keys(v, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_no_empty_text() {
        let pages = parse_all().unwrap();
        assert_eq!(pages.len(), CATALOGUES.len());
        for (page, v) in &pages {
            let (mut en, mut zh) = (Vec::new(), Vec::new());
            keys(&v["en"], "", &mut en);
            keys(&v["zh"], "", &mut zh);
            en.sort();
            zh.sort();
            assert!(!en.is_empty(), "i18n/{page}.json has no English keys");
            assert_eq!(en, zh, "i18n/{page}.json: the languages' keys differ");
            for lang in ["en", "zh"] {
                for k in &en {
                    let text = k.split('.').fold(&v[lang], |v, part| &v[part]);
                    assert!(
                        text.as_str().is_some_and(|s| !s.trim().is_empty()),
                        "i18n/{page}.json: {lang}.{k} is empty or not text"
                    );
                }
            }
            assert_eq!(
                v.as_object().map(|m| m.len()),
                Some(2),
                "i18n/{page}.json must hold exactly \"en\" and \"zh\""
            );
        }
    }

    #[test]
    fn language_comes_from_the_cookie_then_the_browser() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "zh-CN,zh;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::of_request(&h), Lang::Zh);
        h.insert(header::COOKIE, "a=b; renlian_lang=en".parse().unwrap());
        assert_eq!(Lang::of_request(&h), Lang::En);
    }
}
