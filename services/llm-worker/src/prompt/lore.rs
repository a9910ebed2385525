//! The lorebook step of the pipeline: scan every book, keep what fits each book's budget and
//! the prompt's, and hand the kept entries to their positions.

use domain::context::{LoreHit, SectionKind};
use domain::lorebook::matcher::{fit_budget, Fired};
use domain::lorebook::Position;

use super::{Budget, PromptInput, PER_MESSAGE_OVERHEAD};

/// One kept entry, ready to place.
struct Placed {
    hit: LoreHit,
    text: String,
}

/// What the lorebook step decided.
pub(super) struct Lore {
    kept: Vec<Placed>,
    pub dropped: Vec<LoreHit>,
}

impl Lore {
    /// The texts placed at `position` (before or after the card), in insertion order.
    pub fn texts(&self, position: Position) -> Vec<String> {
        self.kept
            .iter()
            .filter(|p| p.hit.position == position)
            .map(|p| p.text.clone())
            .collect()
    }

    /// Entries placed at a depth in the history.
    pub fn at_depth(&self) -> Vec<(u32, SectionKind, String)> {
        self.kept
            .iter()
            .filter_map(|p| match p.hit.position {
                Position::Depth(d) => Some((d, SectionKind::LoreAtDepth, p.text.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn kept_hits(&self) -> Vec<LoreHit> {
        self.kept.iter().map(|p| p.hit.clone()).collect()
    }
}

/// Scans the books over `scan` (messages, newest first) and spends at most `left` tokens on
/// what fired, reducing `left` by what was kept.
pub(super) fn select(
    input: &PromptInput,
    scan: &[&str],
    left: &mut usize,
    budget: &Budget<'_>,
    sub: &dyn Fn(&str) -> String,
) -> Lore {
    let mut lore = Lore {
        kept: Vec::new(),
        dropped: Vec::new(),
    };
    for book in &input.lorebooks {
        let compiled = &book.book;
        let depth = compiled.book.scan_depth_or(input.lore_defaults.scan_depth);
        let fired = compiled.scan(scan, depth);
        if fired.is_empty() {
            continue;
        }
        // A book's budget never exceeds what the prompt has left: a budget larger than the
        // window is safe, it simply cannot be spent.
        let book_budget = (compiled
            .book
            .token_budget_or(input.lore_defaults.token_budget) as usize)
            .min(*left);
        // Only entries that fired are prepared (a book may hold hundreds).
        let mut texts: Vec<String> = vec![String::new(); compiled.book.entries.len()];
        for f in &fired {
            texts[f.entry] = sub(&compiled.entry(f.entry).content);
        }
        // Each entry is its own paragraph or its own system message: counted as a message.
        let cost = |f: &Fired| budget.count(&texts[f.entry]) + PER_MESSAGE_OVERHEAD;
        let (kept, dropped) = fit_budget(&compiled.book, fired, book_budget, cost);
        let hit = |f: &Fired, tokens: usize| {
            let entry = compiled.entry(f.entry);
            LoreHit {
                lorebook_id: book.id,
                lorebook: book.name.clone(),
                entry: u32::try_from(f.entry).unwrap_or(u32::MAX),
                label: entry.label(),
                key: f.key.clone(),
                position: entry.placement(),
                tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
                round: f.round,
            }
        };
        for (f, tokens) in kept {
            if texts[f.entry].is_empty() {
                continue;
            }
            *left = left.saturating_sub(tokens);
            lore.kept.push(Placed {
                hit: hit(&f, tokens),
                text: texts[f.entry].clone(),
            });
        }
        lore.dropped
            .extend(dropped.iter().map(|(f, tokens)| hit(f, *tokens)));
    }
    lore
}
