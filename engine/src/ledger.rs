//! Wallets, escrow records and the double-entry ledger.
//!
//! Every change to a balance is a [`Posting`] from one account to another,
//! made by `Ledger::transfer`, so money can neither appear nor vanish:
//! for each currency, wallets + escrows + platform fees = deposits −
//! withdrawals.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::event::{Account, Event, Posting, PostingKind};
use crate::segmented::Segmented;
use crate::units::{AgentId, Amount, Currency, OrderId, TransactionId};

/// Index of an agent in the ledger, in order of first use: orders and
/// wallets refer to agents by it, so the hot path needs no hashing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct AgentIdx(pub u32);

/// An account inside the engine: like [`Account`], with interned agents.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Acct {
    External,
    Available(AgentIdx),
    Held(AgentIdx),
    Escrow(TransactionId),
    Platform,
}

/// Index of a currency in the ledger, in order of first use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct CurrencyId(pub u16);

/// An agent's funds in one currency.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Spendable.
    pub available: Amount,
    /// Held for open orders.
    pub held: Amount,
}

/// The escrow account of one transaction: what the buyer paid in and
/// nobody has been paid out yet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EscrowAccount {
    pub currency: CurrencyId,
    pub balance: Amount,
}

/// An agent and its wallets, one per currency it has used.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct AgentAccounts {
    id: AgentId,
    /// Few per agent: a linear scan beats hashing, and the first one
    /// lives inline, so reaching it follows no pointer.
    wallets: SmallVec<[(CurrencyId, Balance); 1]>,
}

/// Per-currency totals.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CurrencyTotals {
    code: Currency,
    /// Balance of the external account: minus (deposits − withdrawals).
    external: Amount,
    /// Fees the platform collected.
    platform: Amount,
}

/// All money in the engine.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Ledger {
    currencies: Vec<CurrencyTotals>,
    currency_ids: FxHashMap<Currency, CurrencyId>,
    agents: Vec<AgentAccounts>,
    agent_index: FxHashMap<AgentId, AgentIdx>,
    /// Escrow accounts by transaction id − 1.
    escrows: Segmented<EscrowAccount>,
    /// Set by [`Ledger::leave_out_postings`]. Not state: snapshots and
    /// digests do not see it.
    #[serde(skip)]
    postings_left_out: bool,
}

impl Ledger {
    /// The id of `code`, adding the currency on first use.
    pub fn currency_id(&mut self, code: Currency) -> CurrencyId {
        if let Some(&id) = self.currency_ids.get(&code) {
            return id;
        }
        let id = CurrencyId(u16::try_from(self.currencies.len()).expect("currency count fits u16"));
        self.currencies.push(CurrencyTotals {
            code,
            external: Amount::ZERO,
            platform: Amount::ZERO,
        });
        self.currency_ids.insert(code, id);
        id
    }

    /// The id of `code`, if it was ever used.
    pub fn find_currency(&self, code: &Currency) -> Option<CurrencyId> {
        self.currency_ids.get(code).copied()
    }

    /// The code of currency `id`.
    pub fn currency_code(&self, id: CurrencyId) -> Currency {
        self.currencies[id.0 as usize].code
    }

    /// Deposits minus withdrawals of `currency`: what all accounts hold.
    pub fn deposited_net(&self, currency: CurrencyId) -> Amount {
        Amount(-self.currencies[currency.0 as usize].external.0)
    }

    /// The index of `agent`, if it ever had an account.
    pub fn find_agent(&self, agent: AgentId) -> Option<AgentIdx> {
        self.agent_index.get(&agent).copied()
    }

    /// The index of `agent`, adding it on first use.
    pub fn agent(&mut self, agent: AgentId) -> AgentIdx {
        if let Some(&idx) = self.agent_index.get(&agent) {
            return idx;
        }
        let idx = AgentIdx(u32::try_from(self.agents.len()).expect("agent count fits u32"));
        self.agents.push(AgentAccounts {
            id: agent,
            wallets: SmallVec::new(),
        });
        self.agent_index.insert(agent, idx);
        idx
    }

    /// The id of agent `idx`.
    pub fn agent_id(&self, idx: AgentIdx) -> AgentId {
        self.agents[idx.0 as usize].id
    }

    /// Agent `idx`'s balance in `currency` (zero if it never had one).
    pub fn balance(&self, idx: AgentIdx, currency: CurrencyId) -> Balance {
        self.agents[idx.0 as usize]
            .wallets
            .iter()
            .find(|(c, _)| *c == currency)
            .map_or(Balance::default(), |(_, b)| *b)
    }

    /// What `agent` has available in `currency` (zero if unknown).
    pub fn available(&self, agent: AgentId, currency: CurrencyId) -> Amount {
        self.find_agent(agent)
            .map_or(Amount::ZERO, |idx| self.balance(idx, currency).available)
    }

    /// All of `agent`'s wallets, by currency code.
    pub fn balances_of(&self, agent: AgentId) -> Vec<(Currency, Balance)> {
        let Some(idx) = self.find_agent(agent) else {
            return Vec::new();
        };
        let mut out: Vec<(Currency, Balance)> = self.agents[idx.0 as usize]
            .wallets
            .iter()
            .map(|(c, b)| (self.currency_code(*c), *b))
            .collect();
        out.sort_by_key(|(code, _)| *code);
        out
    }

    /// Opens the empty escrow account of a new transaction and returns the
    /// transaction's id. Funds arrive by a [`Ledger::transfer`] to
    /// [`Acct::Escrow`].
    pub fn open_escrow(&mut self, currency: CurrencyId) -> TransactionId {
        self.escrows.push(EscrowAccount {
            currency,
            balance: Amount::ZERO,
        });
        TransactionId(self.escrows.len() as u64)
    }

    /// What the escrow account of transaction `id` holds.
    pub fn escrow_balance(&self, id: TransactionId) -> Amount {
        self.escrows[(id.0 - 1) as usize].balance
    }

    /// Fees the platform collected in `currency`.
    pub fn platform(&self, currency: CurrencyId) -> Amount {
        self.currencies[currency.0 as usize].platform
    }

    /// Moves `amount` (positive) from one account to another and records
    /// the posting (unless [`Ledger::leave_out_postings`]). The caller has
    /// checked that `from` can pay; an account other than `External` going
    /// negative is a bug and panics.
    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &mut self,
        kind: PostingKind,
        currency: CurrencyId,
        from: Acct,
        to: Acct,
        amount: Amount,
        order_id: Option<OrderId>,
        events: &mut Vec<Event>,
    ) {
        assert!(amount.0 > 0, "postings move a positive amount");
        match (from, to) {
            // Holds and releases stay inside one wallet: one lookup.
            (Acct::Available(a), Acct::Held(b)) | (Acct::Held(a), Acct::Available(b)) if a == b => {
                let wallet = self.wallet_mut(a, currency);
                let (paying, receiving) = match from {
                    Acct::Available(_) => (&mut wallet.available, &mut wallet.held),
                    _ => (&mut wallet.held, &mut wallet.available),
                };
                paying.0 -= amount.0;
                assert!(paying.0 >= 0, "account {from:?} went negative");
                receiving.0 += amount.0;
            }
            _ => {
                let paying = self.account_mut(from, currency);
                *paying -= amount.0;
                assert!(
                    from == Acct::External || *paying >= 0,
                    "account {from:?} went negative"
                );
                *self.account_mut(to, currency) += amount.0;
            }
        }
        if self.postings_left_out {
            return;
        }
        events.push(Event::Posting(Posting {
            kind,
            currency: self.currency_code(currency),
            from: self.public(from),
            to: self.public(to),
            amount,
            order_id,
        }));
    }

    /// From now on, moves money without reporting each posting as an
    /// event.
    pub fn leave_out_postings(&mut self) {
        self.postings_left_out = true;
    }

    fn public(&self, account: Acct) -> Account {
        match account {
            Acct::External => Account::External,
            Acct::Available(a) => Account::Available(self.agent_id(a)),
            Acct::Held(a) => Account::Held(self.agent_id(a)),
            Acct::Escrow(id) => Account::Escrow(id),
            Acct::Platform => Account::Platform,
        }
    }

    fn wallet_mut(&mut self, agent: AgentIdx, currency: CurrencyId) -> &mut Balance {
        let wallets = &mut self.agents[agent.0 as usize].wallets;
        let i = match wallets.iter().position(|(c, _)| *c == currency) {
            Some(i) => i,
            None => {
                wallets.push((currency, Balance::default()));
                wallets.len() - 1
            }
        };
        &mut wallets[i].1
    }

    fn account_mut(&mut self, account: Acct, currency: CurrencyId) -> &mut i64 {
        match account {
            Acct::External => &mut self.currencies[currency.0 as usize].external.0,
            Acct::Available(agent) => &mut self.wallet_mut(agent, currency).available.0,
            Acct::Held(agent) => &mut self.wallet_mut(agent, currency).held.0,
            Acct::Escrow(id) => &mut self.escrows[(id.0 - 1) as usize].balance.0,
            Acct::Platform => &mut self.currencies[currency.0 as usize].platform.0,
        }
    }

    /// Every wallet as `(agent, agent id, currency, balance)`.
    pub fn wallets(&self) -> impl Iterator<Item = (AgentIdx, AgentId, CurrencyId, Balance)> + '_ {
        self.agents.iter().enumerate().flat_map(|(i, a)| {
            a.wallets
                .iter()
                .map(move |(c, b)| (AgentIdx(i as u32), a.id, *c, *b))
        })
    }

    /// All escrow accounts in transaction id order.
    pub fn escrows(&self) -> impl Iterator<Item = &EscrowAccount> {
        self.escrows.iter()
    }

    /// How many escrow accounts (transactions) there are.
    pub fn escrow_count(&self) -> usize {
        self.escrows.len()
    }

    /// Per currency: id, code, deposits − withdrawals.
    pub fn totals(&self) -> impl Iterator<Item = (CurrencyId, Currency, Amount)> + '_ {
        self.currencies
            .iter()
            .enumerate()
            .map(|(i, t)| (CurrencyId(i as u16), t.code, Amount(-t.external.0)))
    }
}
