//! A plan saved by `plan --out FILE` and carried out by `apply FILE`: the JSON plan a person
//! reviews, plus what it was made from — a digest of each desired-state file, a digest of the
//! values of the `${env:...}` variables the loaded state references (never the values), and per stack the
//! [`Approval`] (live stamps and plan digest) that the pass checks before it writes anything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aca_model::desired::DesiredState;
use aca_reconcile::approval::sha256_hex;
use aca_reconcile::{Approval, PassReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const KIND: &str = "aca-operator-plan";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    pub kind: String,
    pub schema_version: u32,
    pub created_at: String,
    pub files: Vec<SavedFile>,
    /// SHA-256 over the names and values of the referenced `${env:...}` variables.
    pub env_digest: String,
    pub approvals: Vec<SavedApproval>,
    /// The plan as `plan --output json` prints it, for review.
    pub plan: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedFile {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedApproval {
    pub stack: String,
    pub approval: Approval,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a saved plan of aca-operator ({why})")]
    NotAPlan { path: String, why: String },
    #[error("{path}: changed since the plan was made; nothing was changed: make and review a new plan")]
    FileChanged { path: String },
    #[error(
        "the values of the ${{env:...}} variables the desired state references changed since the plan was made; nothing was changed: make and review a new plan"
    )]
    EnvChanged,
    #[error("{0}")]
    NotLoadable(String),
    #[error("stack `{stack}` has no approval in the saved plan")]
    NoApproval { stack: String },
}

impl SavedPlan {
    /// The saved form of `reports`, made from `state` loaded from `files` (as given on the
    /// command line).
    pub fn new(files: &[PathBuf], state: &DesiredState, reports: &[PassReport]) -> Result<Self, SavedPlanError> {
        let approvals = reports
            .iter()
            .filter_map(|r| {
                let observed = r.observed.as_ref()?;
                Some(SavedApproval {
                    stack: r.stack.clone(),
                    approval: Approval::of(observed, &r.diff, &r.plan),
                })
            })
            .collect();
        let texts = read_all(files)?;
        Ok(SavedPlan {
            kind: KIND.to_string(),
            schema_version: crate::render::PLAN_SCHEMA_VERSION,
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            env_digest: env_digest(state),
            files: texts
                .iter()
                .map(|(path, text)| SavedFile {
                    path: path.clone(),
                    sha256: sha256_hex(text.as_bytes()),
                })
                .collect(),
            approvals,
            plan: crate::render::plan_json(reports),
        })
    }

    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Io {
            path: name.clone(),
            source,
        })?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| SavedPlanError::NotAPlan {
            path: name.clone(),
            why: e.to_string(),
        })?;
        if plan.kind != KIND || plan.schema_version != crate::render::PLAN_SCHEMA_VERSION {
            return Err(SavedPlanError::NotAPlan {
                path: name,
                why: format!(
                    "kind `{}` version {}; this binary reads `{KIND}` version {}",
                    plan.kind,
                    plan.schema_version,
                    crate::render::PLAN_SCHEMA_VERSION
                ),
            });
        }
        Ok(plan)
    }

    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| SavedPlanError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The desired-state files, once checked to be the ones the plan was made from.
    pub fn checked_files(&self) -> Result<Vec<PathBuf>, SavedPlanError> {
        let paths: Vec<PathBuf> = self.files.iter().map(|f| f.path.clone()).collect();
        let texts = read_all(&paths)?;
        for (saved, (path, text)) in self.files.iter().zip(&texts) {
            if saved.sha256 != sha256_hex(text.as_bytes()) {
                return Err(SavedPlanError::FileChanged {
                    path: path.display().to_string(),
                });
            }
        }
        Ok(paths)
    }

    /// Ok when the `${env:...}` values `state` reads are the ones the plan was made with.
    pub fn check_env(&self, state: &DesiredState) -> Result<(), SavedPlanError> {
        if env_digest(state) == self.env_digest {
            Ok(())
        } else {
            Err(SavedPlanError::EnvChanged)
        }
    }

    pub fn approval(&self, stack: &str) -> Result<Approval, SavedPlanError> {
        self.approvals
            .iter()
            .find(|a| a.stack == stack)
            .map(|a| a.approval.clone())
            .ok_or_else(|| SavedPlanError::NoApproval {
                stack: stack.to_string(),
            })
    }
}

/// Every file the loader reads for `paths`, with its text.
fn read_all(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, SavedPlanError> {
    let files = aca_model::desired::expand_paths(paths).map_err(|e| SavedPlanError::NotLoadable(e.to_string()))?;
    files
        .into_iter()
        .map(|f| match std::fs::read_to_string(&f) {
            Ok(t) => Ok((f, t)),
            Err(source) => Err(SavedPlanError::Io {
                path: f.display().to_string(),
                source,
            }),
        })
        .collect()
}

/// Digest of the referenced environment variables' names and values (unset ones included as such).
fn env_digest(state: &DesiredState) -> String {
    let mut material = String::new();
    for n in state.env_references() {
        let value = std::env::var(&n).ok();
        let _ = writeln!(
            material,
            "{n}={}",
            value.as_deref().map(|v| sha256_hex(v.as_bytes())).unwrap_or_default()
        );
    }
    sha256_hex(material.as_bytes())
}
