//! Wallets, escrow records and the double-entry ledger.
//!
//! Every change to a balance is a [`Posting`] from one account to another,
//! made by [`Ledger::transfer`], so money can neither appear nor vanish:
//! for each currency, wallets + escrows + platform = deposits − withdrawals.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::event::{Account, Event, Posting, PostingKind};
use crate::units::{
    AgentId, Amount, Currency, EscrowId, OrderId, Price, Quantity, Symbol, Timestamp, TradeId,
};

/// Index of a currency in the ledger, in order of first use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CurrencyId(pub u16);

/// An agent's funds in one currency.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Spendable.
    pub available: Amount,
    /// Held for open orders.
    pub held: Amount,
}

/// Where an escrow record stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscrowStatus {
    /// The buyer's funds are in escrow, awaiting delivery.
    EscrowFunded,
}

/// Money held between a buyer and a seller for one trade.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escrow {
    /// The record.
    pub escrow_id: EscrowId,
    /// The trade that created it.
    pub trade_id: TradeId,
    /// Paying agent.
    pub buyer: AgentId,
    /// Delivering agent.
    pub seller: AgentId,
    /// What was bought.
    pub asset: Symbol,
    /// How much of it.
    pub quantity: Quantity,
    /// At what price.
    pub price: Price,
    /// Price × quantity.
    pub amount: Amount,
    /// What the escrow account holds now.
    pub balance: Amount,
    /// Currency of the amount.
    pub currency: Currency,
    /// Lifecycle status.
    pub status: EscrowStatus,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Per-currency platform-level totals.
#[derive(Clone, Debug)]
struct CurrencyTotals {
    code: Currency,
    /// Balance of the external account: minus (deposits − withdrawals).
    external: Amount,
    platform: Amount,
}

/// All money in the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    currencies: Vec<CurrencyTotals>,
    currency_ids: FxHashMap<Currency, CurrencyId>,
    wallets: FxHashMap<(AgentId, CurrencyId), Balance>,
    escrows: Vec<Escrow>,
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

    /// `agent`'s balance in `currency` (zero if it never had one).
    pub fn balance(&self, agent: AgentId, currency: CurrencyId) -> Balance {
        self.wallets
            .get(&(agent, currency))
            .copied()
            .unwrap_or_default()
    }

    /// Deposits minus withdrawals of `currency`: what all accounts hold.
    pub fn deposited_net(&self, currency: CurrencyId) -> Amount {
        Amount(-self.currencies[currency.0 as usize].external.0)
    }

    /// All of `agent`'s wallets, by currency code.
    pub fn balances_of(&self, agent: AgentId) -> Vec<(Currency, Balance)> {
        let mut out: Vec<(Currency, Balance)> = (0..self.currencies.len())
            .filter_map(|i| {
                let id = CurrencyId(i as u16);
                self.wallets
                    .get(&(agent, id))
                    .map(|b| (self.currency_code(id), *b))
            })
            .collect();
        out.sort_by_key(|(code, _)| *code);
        out
    }

    /// Creates an empty escrow record and returns its id. Its funds arrive
    /// by a [`Ledger::transfer`] to [`Account::Escrow`].
    pub fn open_escrow(&mut self, mut record: Escrow) -> EscrowId {
        let id = EscrowId(self.escrows.len() as u64 + 1);
        record.escrow_id = id;
        record.balance = Amount::ZERO;
        self.escrows.push(record);
        id
    }

    /// The escrow record `id`.
    pub fn escrow(&self, id: EscrowId) -> Option<&Escrow> {
        let index = usize::try_from(id.0.checked_sub(1)?).ok()?;
        self.escrows.get(index)
    }

    /// Moves `amount` (positive) from one account to another and records
    /// the posting. The caller has checked that `from` can pay; an account
    /// other than `External` going negative is a bug and panics.
    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &mut self,
        kind: PostingKind,
        currency: CurrencyId,
        from: Account,
        to: Account,
        amount: Amount,
        order_id: Option<OrderId>,
        events: &mut Vec<Event>,
    ) {
        assert!(amount.0 > 0, "postings move a positive amount");
        let paying = self.account_mut(from, currency);
        *paying -= amount.0;
        assert!(
            from == Account::External || *paying >= 0,
            "account {from:?} went negative"
        );
        *self.account_mut(to, currency) += amount.0;
        events.push(Event::Posting(Posting {
            kind,
            currency: self.currency_code(currency),
            from,
            to,
            amount,
            order_id,
        }));
    }

    fn account_mut(&mut self, account: Account, currency: CurrencyId) -> &mut i64 {
        match account {
            Account::External => &mut self.currencies[currency.0 as usize].external.0,
            Account::Platform => &mut self.currencies[currency.0 as usize].platform.0,
            Account::Available(agent) => {
                &mut self
                    .wallets
                    .entry((agent, currency))
                    .or_default()
                    .available
                    .0
            }
            Account::Held(agent) => &mut self.wallets.entry((agent, currency)).or_default().held.0,
            Account::Escrow(id) => &mut self.escrows[(id.0 - 1) as usize].balance.0,
        }
    }

    /// Every wallet, sorted by agent and currency.
    pub fn wallets_sorted(&self) -> Vec<((AgentId, CurrencyId), Balance)> {
        let mut out: Vec<_> = self.wallets.iter().map(|(k, v)| (*k, *v)).collect();
        out.sort_unstable_by_key(|(k, _)| *k);
        out
    }

    /// All escrow records in id order.
    pub fn escrows(&self) -> &[Escrow] {
        &self.escrows
    }

    /// Per currency: code, deposits − withdrawals, platform balance.
    pub fn totals(&self) -> impl Iterator<Item = (CurrencyId, Currency, Amount, Amount)> + '_ {
        self.currencies.iter().enumerate().map(|(i, t)| {
            (
                CurrencyId(i as u16),
                t.code,
                Amount(-t.external.0),
                t.platform,
            )
        })
    }
}
