//! Regimes of PROTOCOL section 4: which layer groups may train. R1..R5 by depth, or any named set.

use crate::params::Group;
use std::fmt;
use std::str::FromStr;

/// A fixed trainable subspace: the set of groups whose parameters the optimiser may change.
/// Deserialising checks it as parsing does: never empty, sorted, no repeats, the name matching
/// the groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Stored")]
pub struct Regime {
    /// How the user named it: `R1`..`R5`, or the custom list as given.
    pub name: String,
    /// The trainable groups, sorted G1..G5, without repeats, never empty.
    pub trainable: Vec<Group>,
}

impl Regime {
    /// Rd: the top `d` groups trainable (R1 = {G5} head only, R5 = everything).
    pub fn depth(d: usize) -> Regime {
        assert!((1..=5).contains(&d), "regime depth is 1..=5, got {d}");
        Regime {
            name: format!("R{d}"),
            trainable: Group::ALL[5 - d..].to_vec(),
        }
    }

    /// A custom set, from names such as `conv3,fc,head` or `G3,G4,G5`.
    pub fn custom(spec: &str) -> Result<Regime, String> {
        let mut trainable = Vec::new();
        for part in spec.split(',').map(str::trim) {
            let g = group_by_name(part).ok_or_else(|| {
                format!("unknown layer group `{part}` in `{spec}`: use G1..G5 or conv1, conv2, conv3, fc, head")
            })?;
            if !trainable.contains(&g) {
                trainable.push(g);
            }
        }
        if trainable.is_empty() {
            return Err("a regime needs at least one trainable group".into());
        }
        trainable.sort();
        Ok(Regime {
            name: trainable
                .iter()
                .map(|g| g.name())
                .collect::<Vec<_>>()
                .join(","),
            trainable,
        })
    }

    /// The whole network (what the first task trains by default).
    pub fn full() -> Regime {
        Regime::depth(5)
    }

    /// Whether the regime is one that parsing could give: at least one group, sorted G1..G5, no
    /// repeats (a regime built field by field in code may not be).
    pub fn check(&self) -> Result<(), String> {
        if self.trainable.is_empty() || !self.trainable.windows(2).all(|w| w[0] < w[1]) {
            return Err(format!(
                "regime `{}` must list at least one group, sorted G1..G5 without repeats, got {:?}",
                self.name, self.trainable
            ));
        }
        Ok(())
    }

    /// The lowest trainable group: everything below it is a frozen prefix.
    pub fn lowest(&self) -> Group {
        self.trainable[0]
    }
}

/// A regime as written in a file, before it is checked.
#[derive(serde::Deserialize)]
struct Stored {
    name: String,
    trainable: Vec<Group>,
}

impl TryFrom<Stored> for Regime {
    type Error = String;
    fn try_from(s: Stored) -> Result<Regime, String> {
        let named: Regime = s.name.parse()?;
        if named.trainable != s.trainable {
            return Err(format!(
                "regime `{}` trains {:?}, but the file lists {:?}",
                s.name, named.trainable, s.trainable
            ));
        }
        Ok(named)
    }
}

fn group_by_name(s: &str) -> Option<Group> {
    Some(match s.to_ascii_lowercase().as_str() {
        "g1" | "conv1" => Group::G1,
        "g2" | "conv2" => Group::G2,
        "g3" | "conv3" => Group::G3,
        "g4" | "fc" => Group::G4,
        "g5" | "head" => Group::G5,
        _ => return None,
    })
}

impl FromStr for Regime {
    type Err = String;
    /// `R1`..`R5`, or a comma-separated list of groups.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            r if r.len() == 2 && (r.starts_with('R') || r.starts_with('r')) => {
                match r[1..].parse::<usize>() {
                    Ok(d @ 1..=5) => Ok(Regime::depth(d)),
                    _ => Err(format!(
                        "unknown regime `{s}`: use R1..R5 or a list of groups"
                    )),
                }
            }
            other => Regime::custom(other),
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Group::*;

    #[test]
    fn depths_and_custom_sets() {
        assert_eq!(Regime::depth(1).trainable, vec![G5]);
        assert_eq!(Regime::depth(3).trainable, vec![G3, G4, G5]);
        assert_eq!(
            "R5".parse::<Regime>().unwrap().trainable,
            Group::ALL.to_vec()
        );
        let r: Regime = "head,conv3,fc".parse().unwrap();
        assert_eq!(
            (r.trainable.clone(), r.name.as_str(), r.lowest()),
            (vec![G3, G4, G5], "G3,G4,G5", G3)
        );
        assert_eq!(
            "conv1,head".parse::<Regime>().unwrap().trainable,
            vec![G1, G5]
        );
        for bad in ["R0", "R6", "conv4", "", "R1,fc"] {
            assert!(bad.parse::<Regime>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn regimes_built_in_code_are_checked() {
        assert!(Regime::depth(3).check().is_ok());
        for trainable in [vec![], vec![G5, G3], vec![G4, G4]] {
            let r = Regime {
                name: "mine".into(),
                trainable,
            };
            assert!(r.check().is_err(), "{r:?}");
        }
    }

    #[test]
    fn deserialising_checks_the_regime() {
        for r in [Regime::depth(2), "conv1,head".parse().unwrap()] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Regime>(&json).unwrap(), r);
        }
        for bad in [
            r#"{"name":"R2","trainable":[]}"#,
            r#"{"name":"","trainable":[]}"#,
            r#"{"name":"R2","trainable":["G5","G4"]}"#,
            r#"{"name":"R1","trainable":["G4","G5"]}"#,
        ] {
            assert!(serde_json::from_str::<Regime>(bad).is_err(), "{bad}");
        }
    }
}
