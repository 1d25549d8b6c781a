//! Two-word names for staging sites (`brave-otter`), as the playbook's generate_subdomain.py
//! makes them: easy to say and type, with about 4,000 of them, enough that a server's few
//! staging sites rarely draw the same one twice (and a draw that is taken is drawn again).

use crate::ops::server::site::StagingLabel;

const ADJECTIVES: [&str; 64] = [
    "amber", "ancient", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp", "curly", "dapper", "eager",
    "early", "fancy", "fluffy", "frosty", "gentle", "giddy", "glad", "golden", "grand", "happy", "hardy", "hazy",
    "humble", "jolly", "keen", "kind", "lively", "lucky", "merry", "mighty", "misty", "modest", "noble", "plucky",
    "polite", "proud", "quick", "quiet", "rapid", "rosy", "rusty", "shiny", "silent", "silver", "sleepy", "smart",
    "snowy", "spicy", "steady", "sunny", "swift", "tidy", "tiny", "upbeat", "vivid", "warm", "wild", "windy", "wise",
    "witty", "young", "zesty",
];

const NOUNS: [&str; 64] = [
    "badger", "beaver", "bison", "comet", "cedar", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch",
    "fox", "gecko", "heron", "hippo", "ibis", "koala", "lemur", "lion", "llama", "lynx", "maple", "marmot", "meadow",
    "moose", "newt", "ocelot", "orca", "otter", "owl", "panda", "parrot", "pebble", "pelican", "penguin", "pine",
    "puffin", "quokka", "rabbit", "raven", "river", "robin", "salmon", "seal", "sparrow", "spruce", "squid", "stork",
    "swan", "tapir", "thrush", "tiger", "toucan", "trout", "tulip", "turtle", "walrus", "willow", "wombat", "wren",
    "yak", "zebra", "walnut",
];

/// A label whose site name is not in `taken`.
pub fn pick(taken: &[String]) -> StagingLabel {
    loop {
        let adjective = ADJECTIVES[rand::random_range(0..ADJECTIVES.len())];
        let noun = NOUNS[rand::random_range(0..NOUNS.len())];
        let label: StagingLabel = format!("{adjective}-{noun}").parse().unwrap_or_else(|err: String| panic!("{err}"));
        if !taken.contains(&label.site_name().to_string()) {
            return label;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_makes_a_valid_label_and_site_name() {
        for adjective in ADJECTIVES {
            for noun in NOUNS {
                let label: StagingLabel = format!("{adjective}-{noun}").parse().unwrap();
                assert!(label.site_name().to_string().len() <= 16);
            }
        }
        let mut all = [ADJECTIVES, NOUNS].concat();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 128, "a word is listed twice");
    }

    #[test]
    fn a_taken_name_is_never_drawn() {
        let taken: Vec<String> = ADJECTIVES.iter().skip(1).flat_map(|a| NOUNS.map(|n| format!("{a}{n}"))).collect();
        let label = pick(&taken);
        assert!(label.to_string().starts_with("amber-"), "{label}");
    }
}
