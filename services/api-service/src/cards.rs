//! Character Card V2 (`chara_card_v2`) import and export, as JSON or embedded in a PNG `tEXt`
//! chunk with keyword `chara` (base64 JSON) — the format character-chat front ends exchange.
//!
//! Lossless: card fields we do not model (`creator`, `character_version`, `character_book`, any
//! future field, and unknown top-level keys) are kept in the character's `extensions` blob under
//! `card_extra` and written back on export, so import → export returns the same card.

use base64::Engine;
use serde_json::{json, Map, Value};

/// The card fields we store in columns, plus the blob that keeps the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CardFields {
    pub name: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub greeting: String,
    pub alternate_greetings: Vec<String>,
    pub example_dialogue: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    pub creator_notes: String,
    pub tags: Vec<String>,
    /// `{"extensions": <data.extensions>, "card_extra": {..unknown data fields..}, "card_top": {..}}`
    pub extensions: Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CardError {
    #[error("not a character card: {0}")]
    Invalid(String),
    #[error("PNG has no `chara` text chunk")]
    NoCardInPng,
    #[error("not a PNG image")]
    NotPng,
}

/// Fields of `data` that map to columns; everything else is kept verbatim.
const MODELLED: &[&str] = &[
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "tags",
    "extensions",
];

fn text(obj: &Map<String, Value>, key: &str) -> Result<String, CardError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(CardError::Invalid(format!("`{key}` must be a string"))),
    }
}

fn strings(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, CardError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| CardError::Invalid(format!("`{key}` must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(CardError::Invalid(format!(
            "`{key}` must be a list of strings"
        ))),
    }
}

/// Parses a V2 card (or a flat V1 card, which has the same field names at the top level).
pub fn parse_card_json(bytes: &[u8]) -> Result<CardFields, CardError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CardError::Invalid(e.to_string()))?;
    let top = value
        .as_object()
        .ok_or_else(|| CardError::Invalid("a card is a JSON object".into()))?;
    let (data, card_top) = match top.get("spec").and_then(Value::as_str) {
        Some("chara_card_v2") => {
            let data = top
                .get("data")
                .and_then(Value::as_object)
                .ok_or_else(|| CardError::Invalid("`data` must be an object".into()))?;
            let rest: Map<String, Value> = top
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "spec" | "spec_version" | "data"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (data, rest)
        }
        Some(other) => return Err(CardError::Invalid(format!("unsupported spec `{other}`"))),
        None if top.contains_key("name") => (top, Map::new()),
        None => return Err(CardError::Invalid("missing `spec` and `name`".into())),
    };
    let name = text(data, "name")?;
    if name.trim().is_empty() {
        return Err(CardError::Invalid("`name` must not be empty".into()));
    }
    let extensions = match data.get("extensions") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(CardError::Invalid("`extensions` must be an object".into())),
    };
    let card_extra: Map<String, Value> = data
        .iter()
        .filter(|(k, _)| !MODELLED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(CardFields {
        name,
        description: text(data, "description")?,
        personality: text(data, "personality")?,
        scenario: text(data, "scenario")?,
        greeting: text(data, "first_mes")?,
        alternate_greetings: strings(data, "alternate_greetings")?,
        example_dialogue: text(data, "mes_example")?,
        system_prompt: text(data, "system_prompt")?,
        post_history_instructions: text(data, "post_history_instructions")?,
        creator_notes: text(data, "creator_notes")?,
        tags: strings(data, "tags")?,
        extensions: json!({ "extensions": extensions, "card_extra": card_extra, "card_top": card_top }),
    })
}

/// Builds the V2 card JSON of stored fields.
pub fn to_card_json(fields: &CardFields) -> Value {
    let blob = fields.extensions.as_object().cloned().unwrap_or_default();
    let mut data = Map::new();
    if let Some(Value::Object(extra)) = blob.get("card_extra") {
        data.extend(extra.clone());
    }
    let put = |data: &mut Map<String, Value>, k: &str, v: Value| {
        data.insert(k.to_owned(), v);
    };
    put(&mut data, "name", json!(fields.name));
    put(&mut data, "description", json!(fields.description));
    put(&mut data, "personality", json!(fields.personality));
    put(&mut data, "scenario", json!(fields.scenario));
    put(&mut data, "first_mes", json!(fields.greeting));
    put(&mut data, "mes_example", json!(fields.example_dialogue));
    put(&mut data, "creator_notes", json!(fields.creator_notes));
    put(&mut data, "system_prompt", json!(fields.system_prompt));
    put(
        &mut data,
        "post_history_instructions",
        json!(fields.post_history_instructions),
    );
    put(
        &mut data,
        "alternate_greetings",
        json!(fields.alternate_greetings),
    );
    put(&mut data, "tags", json!(fields.tags));
    put(
        &mut data,
        "extensions",
        blob.get("extensions").cloned().unwrap_or_else(|| json!({})),
    );
    let mut top = Map::new();
    if let Some(Value::Object(extra_top)) = blob.get("card_top") {
        top.extend(extra_top.clone());
    }
    top.insert("spec".into(), json!("chara_card_v2"));
    top.insert("spec_version".into(), json!("2.0"));
    top.insert("data".into(), Value::Object(data));
    Value::Object(top)
}

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// One PNG chunk: its four-letter type and its data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of a PNG, in order, up to `IEND`.
fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, CardError> {
    if png.len() < 8 || &png[..8] != PNG_SIGNATURE {
        return Err(CardError::NotPng);
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes([png[pos], png[pos + 1], png[pos + 2], png[pos + 3]]) as usize;
        let kind = [png[pos + 4], png[pos + 5], png[pos + 6], png[pos + 7]];
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .filter(|&e| e <= png.len())
            .ok_or(CardError::NotPng)?;
        out.push((kind, &png[pos + 8..pos + 8 + len]));
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// The card JSON bytes stored in a PNG's `chara` tEXt chunk.
pub fn extract_from_png(png: &[u8]) -> Result<Vec<u8>, CardError> {
    for (kind, data) in chunks(png)? {
        if &kind != b"tEXt" {
            continue;
        }
        let Some(nul) = data.iter().position(|&b| b == 0) else {
            continue;
        };
        if &data[..nul] == b"chara" {
            return base64::engine::general_purpose::STANDARD
                .decode(data[nul + 1..].trim_ascii())
                .map_err(|e| CardError::Invalid(format!("`chara` chunk is not base64: {e}")));
        }
    }
    Err(CardError::NoCardInPng)
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A 1×1 transparent PNG, used when a character has no image of its own to carry the card.
fn blank_png() -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    // width 1, height 1, bit depth 8, colour type 6 (RGBA), no interlace
    write_chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    // zlib stream of one scanline: filter byte 0 + 4 zero bytes
    write_chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01,
        ],
    );
    write_chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes `card` into `png` (or a blank image) as the `chara` chunk, replacing any old one.
pub fn embed_in_png(png: Option<&[u8]>, card: &Value) -> Result<Vec<u8>, CardError> {
    let source = match png {
        Some(bytes) => bytes.to_vec(),
        None => blank_png(),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(card.to_string());
    let mut text_chunk = b"chara\0".to_vec();
    text_chunk.extend_from_slice(encoded.as_bytes());
    let mut out = PNG_SIGNATURE.to_vec();
    for (kind, data) in chunks(&source)? {
        let is_old_card = &kind == b"tEXt" && data.starts_with(b"chara\0");
        if is_old_card {
            continue;
        }
        if &kind == b"IEND" {
            write_chunk(&mut out, b"tEXt", &text_chunk);
        }
        write_chunk(&mut out, &kind, data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_card() -> Value {
        json!({
            "spec": "chara_card_v2",
            "spec_version": "2.0",
            "data": {
                "name": "Seraphina",
                "description": "A guardian of the forest.",
                "personality": "kind, protective",
                "scenario": "{{user}} wakes in her glade.",
                "first_mes": "You're awake!",
                "mes_example": "<START>\n{{user}}: hi\n{{char}}: hello",
                "creator_notes": "v3 of the card",
                "system_prompt": "You are {{char}}.",
                "post_history_instructions": "Stay in character.",
                "alternate_greetings": ["Oh, hello.", "Welcome back."],
                "tags": ["fantasy", "female"],
                "creator": "someone",
                "character_version": "3.0",
                "character_book": {"entries": [{"keys": ["forest"], "content": "old"}]},
                "extensions": {"talkativeness": "0.6", "depth_prompt": {"depth": 4}}
            },
            "x_unknown_top": 1
        })
    }

    #[test]
    fn import_then_export_returns_the_same_card() {
        let card = sample_card();
        let fields = parse_card_json(card.to_string().as_bytes()).unwrap();
        assert_eq!(fields.name, "Seraphina");
        assert_eq!(fields.greeting, "You're awake!");
        assert_eq!(fields.alternate_greetings.len(), 2);
        assert_eq!(to_card_json(&fields), card);
    }

    #[test]
    fn png_round_trip_keeps_the_card_and_replaces_an_old_one() {
        let card = sample_card();
        let png = embed_in_png(None, &card).unwrap();
        let back: Value = serde_json::from_slice(&extract_from_png(&png).unwrap()).unwrap();
        assert_eq!(back, card);
        let mut other = card.clone();
        other["data"]["name"] = json!("Renamed");
        let png2 = embed_in_png(Some(&png), &other).unwrap();
        let back2: Value = serde_json::from_slice(&extract_from_png(&png2).unwrap()).unwrap();
        assert_eq!(back2["data"]["name"], "Renamed");
        assert_eq!(png2.windows(6).filter(|w| w == b"chara\0").count(), 1);
    }

    #[test]
    fn v1_flat_cards_are_accepted() {
        let v1 = json!({"name": "Bob", "description": "d", "first_mes": "hey", "mes_example": ""});
        let fields = parse_card_json(v1.to_string().as_bytes()).unwrap();
        assert_eq!(fields.name, "Bob");
        assert_eq!(fields.greeting, "hey");
    }

    #[test]
    fn bad_cards_are_clear_errors() {
        assert!(matches!(
            parse_card_json(b"[1,2]"),
            Err(CardError::Invalid(_))
        ));
        assert!(matches!(
            parse_card_json(b"{\"spec\":\"chara_card_v9\"}"),
            Err(CardError::Invalid(_))
        ));
        let no_name = json!({"spec": "chara_card_v2", "data": {"name": ""}});
        assert!(parse_card_json(no_name.to_string().as_bytes()).is_err());
        let wrong_type = json!({"spec": "chara_card_v2", "data": {"name": "A", "tags": "x"}});
        assert!(parse_card_json(wrong_type.to_string().as_bytes()).is_err());
        assert_eq!(extract_from_png(b"GIF89a"), Err(CardError::NotPng));
        assert_eq!(extract_from_png(&blank_png()), Err(CardError::NoCardInPng));
        // A truncated chunk length must not panic.
        let mut broken = blank_png();
        broken.truncate(20);
        assert!(extract_from_png(&broken).is_err());
    }
}
