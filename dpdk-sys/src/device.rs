//! How a port's device is named on the EAL command line: a virtual device (`--vdev`) or a
//! PCI address (`-a`), parsed from the strings operators write in config files.

/// How a port's device is given to EAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// `--vdev=<spec>`; `name` is the part before the first comma.
    Virtual {
        /// Device name (`net_pcap0`).
        name: String,
        /// Whole spec.
        spec: String,
    },
    /// `-a <address>`.
    Pci {
        /// Full PCI address `DDDD:BB:DD.F`.
        address: String,
    },
}

impl Device {
    /// The ethdev name EAL gives the port.
    pub fn name(&self) -> &str {
        match self {
            Device::Virtual { name, .. } => name,
            Device::Pci { address } => address,
        }
    }

    /// EAL arguments that create or allow the device.
    pub fn eal_args(&self) -> [String; 2] {
        match self {
            Device::Virtual { spec, .. } => ["--vdev".into(), spec.clone()],
            Device::Pci { address } => ["-a".into(), address.clone()],
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Parses a device string: a PCI address (`0000:3b:00.0` or `3b:00.0`) or a vdev spec
/// whose name starts with `net_`.
pub fn parse_device(s: &str) -> Option<Device> {
    let name = s.split(',').next().unwrap_or("");
    if name.starts_with("net_")
        && name.len() > 4
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(Device::Virtual {
            name: name.to_string(),
            spec: s.to_string(),
        });
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (dom, rest) = match parts.as_slice() {
        [d, b, df] if is_hex(d, 4) => (d.to_string(), [*b, *df]),
        [b, df] => ("0000".to_string(), [*b, *df]),
        _ => return None,
    };
    let (dev, func) = rest[1].split_once('.')?;
    if is_hex(rest[0], 2)
        && is_hex(dev, 2)
        && func.len() == 1
        && func.chars().all(|c| ('0'..='7').contains(&c))
    {
        return Some(Device::Pci {
            address: format!("{dom}:{}:{dev}.{func}", rest[0]).to_lowercase(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vdev_and_pci_addresses() {
        assert_eq!(
            parse_device("3b:00.0"),
            Some(Device::Pci {
                address: "0000:3b:00.0".into()
            })
        );
        let d = parse_device("net_tap0,iface=x").expect("vdev");
        assert_eq!(d.name(), "net_tap0");
        assert_eq!(
            d.eal_args(),
            ["--vdev".to_string(), "net_tap0,iface=x".into()]
        );
        for bad in ["", "net_", "tap0", "3b:00.8", "0000:3b:00", "net_a b"] {
            assert_eq!(parse_device(bad), None, "{bad}");
        }
    }
}
