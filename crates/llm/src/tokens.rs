//! Token counts for context budgets (DESIGN §7): each model family's real tokenizer where one is
//! public, a conservative per-script estimate elsewhere.
//!
//! - OpenAI models: o200k_base (gpt-4o, gpt-4.1, gpt-5, o-series) or cl100k_base (gpt-4,
//!   gpt-3.5), through `tiktoken-rs`. Its tables take a while to build, so each is built once,
//!   on first use (the crate's singletons), never at start-up.
//! - Everything else (Anthropic, Gemini, open models behind compatible servers, the mock): an
//!   estimate by script that never counts fewer tokens than o200k or cl100k would on Korean,
//!   Japanese, Chinese or English text (tested below on samples of each). Anthropic's and
//!   Google's tokenizers are not public; overcounting only costs some history, undercounting
//!   overflows the window — so the weights err high.
//!
//! The old chars/4 rule counted a Hangul syllable as a quarter of a token; every real encoding
//! spends about one or more on it, so long Korean chats overflowed the window.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// How a model's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    O200k,
    Cl100k,
    /// The per-script estimate ([`estimate_tokens`]).
    Estimate,
}

impl Encoding {
    /// The name shown in context reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::O200k => "o200k_base",
            Encoding::Cl100k => "cl100k_base",
            Encoding::Estimate => "estimate",
        }
    }

    /// The encoding of a `provider/model` id. Only models OpenAI serves are known to use its
    /// encodings: a `compat/` server may run anything under any name, so it gets the estimate.
    pub fn for_model(model_id: &str) -> Encoding {
        let (provider, model) = model_id.split_once('/').unwrap_or(("openai", model_id));
        if provider != "openai" {
            return Encoding::Estimate;
        }
        const O200K: &[&str] = &[
            "gpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "chatgpt-4o",
            "o1",
            "o3",
            "o4",
        ];
        const CL100K: &[&str] = &["gpt-4", "gpt-3.5"];
        if O200K.iter().any(|p| model.starts_with(p)) {
            Encoding::O200k
        } else if CL100K.iter().any(|p| model.starts_with(p)) {
            Encoding::Cl100k
        } else {
            // A new OpenAI model: its encoding is most likely o200k's successor; the estimate is
            // the safe side of any of them.
            Encoding::Estimate
        }
    }

    /// Tokens of `text` in this encoding.
    pub fn count(self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        match self {
            Encoding::O200k => tiktoken_rs::o200k_base_singleton()
                .encode_ordinary(text)
                .len(),
            Encoding::Cl100k => tiktoken_rs::cl100k_base_singleton()
                .encode_ordinary(text)
                .len(),
            Encoding::Estimate => estimate_tokens(text),
        }
    }
}

/// Weights in hundredths of a token per character, by script, chosen against o200k and cl100k on
/// the samples in the tests (printed by `cargo test -p llm --lib tokens -- --nocapture`).
///
/// Hangul, kana and CJK are counted at their worst case: such a character is 3 UTF-8 bytes, and
/// a byte-level BPE (OpenAI's, and SentencePiece with byte fallback) never spends more than a
/// token per byte. Everyday Korean costs o200k about 0.6 and cl100k about 1.1 tokens a syllable,
/// but rare syllables (뷁, 햏, common in chat slang) take cl100k the full 3 — no per-character
/// weight below 3 is safe for every text. So models without a public tokenizer get at least
/// 1/3 of their window for Korean (Claude: ~66k syllables), and never overflow it. Digits are
/// split in threes; ASCII punctuation mostly stands alone.
fn char_weight(c: char) -> u32 {
    match c as u32 {
        // ASCII letters and spaces: English runs about 4+ characters a token.
        0x41..=0x5A | 0x61..=0x7A | 0x20 => 25,
        0x30..=0x39 => 60,
        // ASCII punctuation and controls (newlines) often stand alone.
        0x00..=0x7F => 100,
        // Other two-byte alphabets (accented Latin, Cyrillic, Greek, …).
        0x80..=0x7FF => 80,
        // Every other character of the Basic Multilingual Plane is 3 bytes: Hangul, kana, CJK.
        0x800..=0xFFFF => 300,
        // Emoji and the rest: 4 bytes.
        _ => 400,
    }
}

/// The conservative per-script estimate of `text`'s tokens.
pub fn estimate_tokens(text: &str) -> usize {
    let hundredths: u64 = text.chars().map(|c| u64::from(char_weight(c))).sum();
    hundredths.div_ceil(100) as usize
}

/// Counts with a memo: history messages are counted again for every reply of a conversation, and
/// a real tokenizer costs microseconds per message, so counts are kept by (encoding, text hash).
/// Cleared whole when full — cheaper than an LRU and good enough for a per-worker cache.
pub struct TokenCounter {
    memo: Mutex<HashMap<(Encoding, u64), u32>>,
    capacity: usize,
}

impl Default for TokenCounter {
    fn default() -> Self {
        Self::new(200_000)
    }
}

impl TokenCounter {
    pub fn new(capacity: usize) -> Self {
        Self {
            memo: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub fn count(&self, encoding: Encoding, text: &str) -> usize {
        // The estimate is cheaper than hashing the text: never memoised.
        if encoding == Encoding::Estimate || text.len() < 16 || self.capacity == 0 {
            return encoding.count(text);
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        let key = (encoding, hasher.finish());
        if let Some(n) = self.memo.lock().ok().and_then(|m| m.get(&key).copied()) {
            return n as usize;
        }
        let n = encoding.count(text);
        if let Ok(mut memo) = self.memo.lock() {
            if memo.len() >= self.capacity {
                memo.clear();
            }
            memo.insert(key, u32::try_from(n).unwrap_or(u32::MAX));
        }
        n
    }
}

impl Hash for Encoding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (*self as u8).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everyday chat text in each language, and text built to be costly (rare syllables, emoji,
    /// code), each checked against both real encodings.
    const SAMPLES: &[&str] = &[
        "안녕하세요! 오늘 날씨가 정말 좋네요. 같이 공원에 산책하러 갈래요?",
        "그는 조용히 창밖을 바라보며 말했다. \"네가 돌아올 줄 알았어. 하지만 이렇게 늦을 줄은 몰랐지.\"",
        "뷁 꿿 쮋 뙇 휅 쀍 똠양꿍 햏햏 괆 뾟",
        "ㅋㅋㅋㅋㅋ ㅠㅠ ㅎㅎ 진짜?? ㄷㄷ",
        "こんにちは。今日はとても良い天気ですね。一緒に散歩に行きませんか？",
        "彼は静かに窓の外を見つめながら言った。「君が戻ってくると分かっていたよ。」",
        "我们明天去北京看长城，然后吃烤鸭。",
        "Hello! The weather is lovely today. Would you like to go for a walk in the park with me?",
        "She whispered, \"I knew you'd come back... but not this late.\" Then she smiled.",
        "fn main() { let x: Vec<u8> = vec![1, 2, 3]; println!(\"{:?}\", x); }",
        "Ünïcödé façade — naïve café, Привет, как дела? Γειά σου κόσμε",
        "😀🎉🔥 👍🏽 🇰🇷 ❤️",
        "1234567890 3.14159 2026-12-03T15:39:21Z #$%^&*()_+",
    ];

    #[test]
    fn the_estimate_never_undercounts_the_real_encodings() {
        for sample in SAMPLES {
            let estimate = estimate_tokens(sample);
            for encoding in [Encoding::O200k, Encoding::Cl100k] {
                let real = encoding.count(sample);
                println!("{encoding:?} real {real:>3} estimate {estimate:>3} | {sample}");
                assert!(
                    estimate >= real,
                    "{encoding:?}: estimate {estimate} < real {real} for {sample:?}"
                );
            }
        }
    }

    #[test]
    fn korean_costs_about_a_token_per_syllable_not_a_quarter() {
        let korean = SAMPLES[1];
        let syllables = korean.chars().filter(|c| ('가'..='힣').contains(c)).count();
        let real = Encoding::O200k.count(korean);
        assert!(
            real * 2 > syllables,
            "o200k: {real} tokens for {syllables} syllables"
        );
        let chars_over_4 = korean.chars().count().div_ceil(4);
        assert!(
            real > chars_over_4,
            "the old rule undercounted: {chars_over_4} < {real}"
        );
        assert!(estimate_tokens(korean) >= Encoding::Cl100k.count(korean));
    }

    #[test]
    fn the_estimate_stays_close_on_english() {
        // Conservative, not absurd: within 2x of o200k on prose.
        let english = SAMPLES[7];
        let (estimate, real) = (estimate_tokens(english), Encoding::O200k.count(english));
        assert!(estimate <= real * 2, "{estimate} vs {real}");
    }

    #[test]
    fn encodings_by_model() {
        assert_eq!(Encoding::for_model("openai/gpt-4o-mini"), Encoding::O200k);
        assert_eq!(Encoding::for_model("openai/gpt-5"), Encoding::O200k);
        assert_eq!(Encoding::for_model("openai/o3-mini"), Encoding::O200k);
        assert_eq!(Encoding::for_model("openai/gpt-4"), Encoding::Cl100k);
        assert_eq!(
            Encoding::for_model("openai/gpt-3.5-turbo"),
            Encoding::Cl100k
        );
        assert_eq!(
            Encoding::for_model("anthropic/claude-sonnet-4"),
            Encoding::Estimate
        );
        assert_eq!(
            Encoding::for_model("gemini/gemini-2.5-pro"),
            Encoding::Estimate
        );
        assert_eq!(Encoding::for_model("compat/gpt-4o"), Encoding::Estimate);
        assert_eq!(Encoding::for_model("mock/echo"), Encoding::Estimate);
    }

    #[test]
    fn the_memo_returns_the_same_counts() {
        let counter = TokenCounter::new(2);
        for sample in SAMPLES {
            let direct = Encoding::O200k.count(sample);
            assert_eq!(counter.count(Encoding::O200k, sample), direct);
            assert_eq!(counter.count(Encoding::O200k, sample), direct, "memoised");
        }
        assert_eq!(Encoding::O200k.count(""), 0);
    }
}
