//! CPU and memory quantities as Container Apps writes them, normalised for comparison.
//!
//! ARM returns `cpu` as a JSON number (`0.5`, `1`) and `memory` as a string (`"1Gi"`, `"1.5Gi"`).
//! People write `1`, `1.0`, `"2Gi"`, `"2.0Gi"` or `"2048Mi"`. Both sides are turned into integers
//! (millicores, mebibytes) so equal quantities compare equal and no float noise causes flapping.

use std::fmt;

/// vCPU in thousandths (millicores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(pub u32);

/// Memory in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("CPU must be a positive number of vCPU such as 0.5 or 1.0, got {0}")]
    BadCpu(String),
    #[error("memory must be a positive quantity with a unit, such as 2Gi, 1.5Gi or 512Mi, got {0:?}")]
    BadMemory(String),
}

impl Cpu {
    pub fn from_vcpu(v: f64) -> Result<Self, QuantityError> {
        if !v.is_finite() || v <= 0.0 || v > 1000.0 {
            return Err(QuantityError::BadCpu(v.to_string()));
        }
        Ok(Cpu((v * 1000.0).round() as u32))
    }

    pub fn vcpu(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", trim_decimal(self.vcpu()))
    }
}

impl Memory {
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let bad = || QuantityError::BadMemory(s.to_string());
        let t = s.trim();
        let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
        let (num, unit) = t.split_at(split);
        let n: f64 = num.trim().parse().map_err(|_| bad())?;
        let factor = match unit {
            "Gi" => 1024.0,
            "Mi" => 1.0,
            "G" => 1e9 / 1_048_576.0,
            "M" => 1e6 / 1_048_576.0,
            _ => return Err(bad()),
        };
        let mib = (n * factor).round();
        if !n.is_finite() || mib <= 0.0 || mib > 1e9 {
            return Err(bad());
        }
        Ok(Memory(mib as u64))
    }

    pub fn gib(self) -> f64 {
        self.0 as f64 / 1024.0
    }
}

impl fmt::Display for Memory {
    /// ARM's own form: `2Gi`, `1.5Gi`, `0.5Gi`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1024) || (self.0 * 4).is_multiple_of(1024) {
            write!(f, "{}Gi", trim_decimal(self.gib()))
        } else {
            write!(f, "{}Mi", self.0)
        }
    }
}

fn trim_decimal(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// CPU/memory totals Container Apps accepts for an app on the Consumption profile.
///
/// Source: learn.microsoft.com/azure/container-apps/containers#allocations — "the total CPU and
/// memory allocations requested for all the containers in a container app must add up to one of
/// the following combinations": 0.25 vCPU / 0.5 GiB in steps of 0.25 vCPU up to 4 vCPU / 8 GiB
/// (memory is always 2 GiB per vCPU; above 2 vCPU only in a workload-profiles environment).
pub fn consumption_combination_ok(cpu: Cpu, memory: Memory) -> bool {
    cpu.0.is_multiple_of(250) && (250..=4000).contains(&cpu.0) && memory.0 == u64::from(cpu.0) * 2048 / 1000
}

/// The accepted combinations, for error hints and docs.
pub fn consumption_combinations() -> impl Iterator<Item = (Cpu, Memory)> {
    (1..=16u32).map(|q| (Cpu(q * 250), Memory(u64::from(q) * 512)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_quantities_compare_equal() {
        assert_eq!(Cpu::from_vcpu(1.0).unwrap(), Cpu::from_vcpu(1.0000001).unwrap());
        assert_eq!(Memory::parse("2Gi").unwrap(), Memory::parse("2.0Gi").unwrap());
        assert_eq!(Memory::parse("2Gi").unwrap(), Memory::parse("2048Mi").unwrap());
        assert_eq!(Memory::parse("1.5Gi").unwrap().to_string(), "1.5Gi");
        assert_eq!(Memory::parse("0.5Gi").unwrap().to_string(), "0.5Gi");
        assert_eq!(Cpu::from_vcpu(0.25).unwrap().to_string(), "0.25");
        assert_eq!(Cpu::from_vcpu(2.0).unwrap().to_string(), "2");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "2", "Gi", "-1Gi", "2Ti", "abcGi", "0Gi"] {
            assert!(Memory::parse(bad).is_err(), "{bad}");
        }
        assert!(Cpu::from_vcpu(0.0).is_err());
        assert!(Cpu::from_vcpu(f64::NAN).is_err());
    }

    #[test]
    fn combination_table_matches_the_docs() {
        let ok = |c: f64, m: &str| consumption_combination_ok(Cpu::from_vcpu(c).unwrap(), Memory::parse(m).unwrap());
        assert!(ok(0.25, "0.5Gi"));
        assert!(ok(1.0, "2Gi"));
        assert!(ok(1.75, "3.5Gi"));
        assert!(ok(4.0, "8Gi"));
        assert!(!ok(1.0, "3Gi"));
        assert!(!ok(0.3, "0.6Gi"));
        assert!(!ok(4.25, "8.5Gi"));
        assert_eq!(consumption_combinations().count(), 16);
    }
}
