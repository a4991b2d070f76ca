//! Which recipients another MSSanté operator serves. An envelope to one of them is not
//! announced by a notification (that recipient never signs in here): it is handed, as a
//! mail, to the operator's SMTP server (`gateway::outbound`), one outbox row per such
//! recipient written in the sealing transaction.

use serde::{Deserialize, Serialize};

/// The outbox purpose of a delivery to another operator.
pub use crate::mail::OPERATOR_DELIVERY as DELIVERY_PURPOSE;

/// What a delivery's outbox row holds (sealed, like every waiting mail): which envelope,
/// for which of its recipients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub envelope_id: String,
    pub recipient_id: String,
    pub address: String,
}

/// The domains hosted here and those routed to other operators; empty (nobody served
/// elsewhere) unless deliveries to other operators are configured
/// (`MEDIMAIL_MSSANTE_RELAY_CERT`).
#[derive(Clone, Debug, Default)]
pub struct Operators {
    enabled: bool,
    hosted: Vec<String>,
    routed: Vec<String>,
}

impl Operators {
    /// Nobody is served elsewhere: every recipient is notified and reads here.
    pub fn none() -> Self {
        Self::default()
    }

    /// From the configuration.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            enabled: config.mssante_relay_cert.is_some(),
            hosted: config.hosted(),
            routed: config
                .mssante_routes
                .iter()
                .filter_map(|r| r.split_once('=').map(|(d, _)| d.to_owned()))
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// Is `address`'s mailbox served by another MSSanté operator: not hosted here, and in
    /// an MSSanté domain or a domain routed to an operator?
    pub fn serves_elsewhere(&self, address: &str) -> bool {
        if !self.enabled {
            return false;
        }
        let domain = domain_of(address);
        !self.hosted.contains(&domain)
            && (is_mssante_domain(&domain) || self.routed.contains(&domain))
    }
}

/// The domain of an address, lower case (empty if it has none).
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').to_ascii_lowercase())
        .unwrap_or_default()
}

/// `mssante.fr` or one of its subdomains: the national space's domains.
pub fn is_mssante_domain(domain: &str) -> bool {
    domain == "mssante.fr" || domain.ends_with(".mssante.fr")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operators() -> Operators {
        Operators {
            enabled: true,
            hosted: vec!["chu-exemple.mssante.fr".into(), "chu-exemple.fr".into()],
            routed: vec!["clinique.fr".into()],
        }
    }

    #[test]
    fn an_mssante_or_routed_domain_not_hosted_here_is_served_elsewhere() {
        let ops = operators();
        assert!(ops.serves_elsewhere("dr.martin@autre.mssante.fr"));
        assert!(ops.serves_elsewhere("Dr.Martin@AUTRE.MSSANTE.FR"));
        assert!(ops.serves_elsewhere("accueil@clinique.fr"));
        assert!(!ops.serves_elsewhere("p@chu-exemple.mssante.fr"));
        assert!(!ops.serves_elsewhere("p@chu-exemple.fr"));
        assert!(!ops.serves_elsewhere("p@gmail.com"));
        assert!(!ops.serves_elsewhere("p@faux-mssante.fr"));
        assert!(!Operators::none().serves_elsewhere("dr.martin@autre.mssante.fr"));
    }
}
