//! Listings: an agent offers units of something at a fixed price; a
//! purchase takes units off the listing at once (so two buyers can never
//! buy the last unit twice) and creates a transaction. A purchase that is
//! cancelled before it is paid puts its units back.

use serde::{Deserialize, Serialize};

use crate::by_owner::{Owned, OwnedRecords};
use crate::category::Category;
use crate::config::EngineConfig;
use crate::event::Event;
use crate::posts::{check_description, check_title, numbered};
use crate::reject::Reject;
use crate::segmented::Segmented;
use crate::units::{AgentId, Amount, Currency, ListingId, Timestamp};

/// Where a listing stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ListingStatus {
    /// For sale.
    Active,
    /// No units left (a cancelled purchase or a restock reopens it).
    SoldOut,
    /// Taken down by its seller.
    Withdrawn,
}

/// What a listing offers, as posted or updated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingPost {
    /// What is for sale.
    pub title: String,
    /// The details.
    pub description: String,
    /// Category.
    pub category: Category,
    /// Price of one unit.
    pub price: Amount,
    /// Its currency.
    pub currency: Currency,
    /// Units for sale.
    pub quantity: u32,
}

/// A change to a listing; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingUpdate {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<Category>,
    /// New unit price (same currency).
    pub price: Option<Amount>,
    /// New number of units left for sale.
    pub quantity: Option<u32>,
}

/// A listing as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingRecord {
    /// The selling agent.
    pub seller: AgentId,
    /// What it offers; `quantity` is what is left for sale.
    pub post: ListingPost,
    /// Units sold (purchases not cancelled).
    pub sold: u32,
    /// Status now.
    pub status: ListingStatus,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// All listings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Listings {
    /// By id − 1, indexed by seller.
    listings: OwnedRecords<ListingRecord>,
}

impl Owned for ListingRecord {
    type Owner = AgentId;

    fn owner(&self) -> AgentId {
        self.seller
    }
}

/// A purchase the listing allows: what the transaction will be.
pub(crate) struct Sale {
    pub seller: AgentId,
    pub price: Amount,
    pub amount: Amount,
    pub currency: Currency,
}

impl Listings {
    /// The listing `id`.
    pub fn get(&self, id: ListingId) -> Result<&ListingRecord, Reject> {
        numbered(&self.listings, id.0, Reject::UnknownListing)
    }

    /// Every listing, in id order.
    pub fn all(&self) -> &Segmented<ListingRecord> {
        &self.listings
    }

    /// The ids of `seller`'s listings below `before`, newest first.
    pub fn of_seller(
        &self,
        seller: AgentId,
        before: Option<u64>,
    ) -> impl Iterator<Item = u64> + '_ {
        self.listings.owned_by(seller, before)
    }

    /// Whether the index by seller lists exactly each agent's listings.
    pub fn index_is_whole(&self) -> bool {
        self.listings.index_is_whole()
    }

    /// Posts a listing.
    pub fn create(
        &mut self,
        seller: AgentId,
        post: &ListingPost,
        time: Timestamp,
        config: &EngineConfig,
        events: &mut Vec<Event>,
    ) -> Result<ListingId, Reject> {
        check_title(&post.title, config)?;
        check_description(&post.description, config)?;
        check_price(post.price)?;
        check_quantity(post.quantity, config)?;
        let id = ListingId(self.listings.len() as u64 + 1);
        self.listings.push(ListingRecord {
            seller,
            post: post.clone(),
            sold: 0,
            status: ListingStatus::Active,
            created_at: time,
            updated_at: time,
        });
        self.announce(id, events);
        Ok(id)
    }

    /// Changes a listing that is not withdrawn.
    pub fn update(
        &mut self,
        caller: AgentId,
        id: ListingId,
        update: &ListingUpdate,
        time: Timestamp,
        config: &EngineConfig,
        events: &mut Vec<Event>,
    ) -> Result<ListingStatus, Reject> {
        self.own_live(caller, id)?;
        if let Some(title) = &update.title {
            check_title(title, config)?;
        }
        if let Some(description) = &update.description {
            check_description(description, config)?;
        }
        if let Some(price) = update.price {
            check_price(price)?;
        }
        if let Some(quantity) = update.quantity {
            if quantity > config.listing_quantity_max {
                return Err(Reject::QuantityOutOfRange {
                    max: config.listing_quantity_max,
                });
            }
        }
        let listing = self.get_mut(id);
        let post = &mut listing.post;
        if let Some(title) = &update.title {
            post.title.clone_from(title);
        }
        if let Some(description) = &update.description {
            post.description.clone_from(description);
        }
        if let Some(category) = update.category {
            post.category = category;
        }
        if let Some(price) = update.price {
            post.price = price;
        }
        if let Some(quantity) = update.quantity {
            post.quantity = quantity;
        }
        listing.status = if post.quantity == 0 {
            ListingStatus::SoldOut
        } else {
            ListingStatus::Active
        };
        listing.updated_at = time;
        Ok(self.announce(id, events))
    }

    /// Takes a listing down for good.
    pub fn withdraw(
        &mut self,
        caller: AgentId,
        id: ListingId,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<ListingStatus, Reject> {
        self.own_live(caller, id)?;
        let listing = self.get_mut(id);
        listing.status = ListingStatus::Withdrawn;
        listing.updated_at = time;
        Ok(self.announce(id, events))
    }

    /// Checks that `buyer` may buy `quantity` units of listing `id`.
    pub fn check_purchase(
        &self,
        buyer: AgentId,
        id: ListingId,
        quantity: u32,
    ) -> Result<Sale, Reject> {
        let listing = self.get(id)?;
        if listing.seller == buyer {
            return Err(Reject::OwnListing);
        }
        if quantity == 0 {
            return Err(Reject::QuantityNotPositive);
        }
        match listing.status {
            ListingStatus::Active if quantity <= listing.post.quantity => {}
            ListingStatus::Withdrawn => {
                return Err(Reject::ListingNotActive {
                    status: listing.status,
                })
            }
            _ => {
                return Err(Reject::NotEnoughUnits {
                    available: listing.post.quantity,
                })
            }
        }
        let amount = listing
            .post
            .price
            .checked_mul(u64::from(quantity))
            .ok_or(Reject::AmountTooLarge)?;
        Ok(Sale {
            seller: listing.seller,
            price: listing.post.price,
            amount,
            currency: listing.post.currency,
        })
    }

    /// Takes `quantity` units (checked by [`Listings::check_purchase`]).
    pub fn sell(&mut self, id: ListingId, quantity: u32, time: Timestamp, events: &mut Vec<Event>) {
        let listing = self.get_mut(id);
        listing.post.quantity -= quantity;
        listing.sold += quantity;
        if listing.post.quantity == 0 {
            listing.status = ListingStatus::SoldOut;
        }
        listing.updated_at = time;
        self.announce(id, events);
    }

    /// Puts back `quantity` units of a purchase that was cancelled unpaid
    /// (unless the listing was withdrawn meanwhile).
    pub fn restock(
        &mut self,
        id: ListingId,
        quantity: u32,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let listing = self.get_mut(id);
        listing.sold -= quantity;
        if listing.status == ListingStatus::Withdrawn {
            return;
        }
        listing.post.quantity = listing.post.quantity.saturating_add(quantity);
        listing.status = ListingStatus::Active;
        listing.updated_at = time;
        self.announce(id, events);
    }

    fn own_live(&self, caller: AgentId, id: ListingId) -> Result<&ListingRecord, Reject> {
        let listing = self.get(id)?;
        if listing.seller != caller {
            return Err(Reject::NotYourListing);
        }
        if listing.status == ListingStatus::Withdrawn {
            return Err(Reject::ListingNotActive {
                status: listing.status,
            });
        }
        Ok(listing)
    }

    fn announce(&self, id: ListingId, events: &mut Vec<Event>) -> ListingStatus {
        let listing = &self.listings[(id.0 - 1) as usize];
        events.push(Event::ListingChanged {
            listing_id: id,
            seller: listing.seller,
            status: listing.status,
            remaining: listing.post.quantity,
        });
        listing.status
    }

    fn get_mut(&mut self, id: ListingId) -> &mut ListingRecord {
        &mut self.listings[(id.0 - 1) as usize]
    }
}

fn check_price(price: Amount) -> Result<(), Reject> {
    if price.0 <= 0 {
        return Err(Reject::AmountNotPositive);
    }
    Ok(())
}

fn check_quantity(quantity: u32, config: &EngineConfig) -> Result<(), Reject> {
    if quantity == 0 || quantity > config.listing_quantity_max {
        return Err(Reject::QuantityOutOfRange {
            max: config.listing_quantity_max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::ListingOp;
    use crate::testkit::{amt, Harness};
    use crate::transactions::{TxAction, TxStatus};

    #[test]
    fn purchases_take_units_and_sold_out_is_a_conflict() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let listing = h.listing(2, 7, 3);
        assert_eq!(h.purchase(2, listing, 1), Err(Reject::OwnListing));
        assert_eq!(h.purchase(1, listing, 0), Err(Reject::QuantityNotPositive));
        let tx = h.purchase(1, listing, 2).unwrap();
        assert_eq!(h.tx(tx).amount, amt(14));
        assert_eq!(
            h.purchase(3, listing, 2),
            Err(Reject::NotEnoughUnits { available: 1 })
        );
        h.purchase(3, listing, 1).unwrap();
        let record = h.market.listings.get(listing).unwrap();
        assert_eq!(
            (record.status, record.post.quantity, record.sold),
            (ListingStatus::SoldOut, 0, 3)
        );
        assert_eq!(
            h.purchase(4, listing, 1),
            Err(Reject::NotEnoughUnits { available: 0 })
        );
        // An unpaid purchase cancelled puts its units back.
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Cancel),
            Ok(TxStatus::Cancelled)
        );
        let record = h.market.listings.get(listing).unwrap();
        assert_eq!(
            (record.status, record.post.quantity, record.sold),
            (ListingStatus::Active, 2, 1)
        );
    }

    #[test]
    fn only_the_seller_updates_or_withdraws() {
        let mut h = Harness::default();
        let listing = h.listing(2, 7, 3);
        let update = ListingUpdate {
            price: Some(amt(8)),
            quantity: Some(0),
            ..ListingUpdate::default()
        };
        let op = |update: ListingUpdate| ListingOp::Update {
            listing_id: listing,
            update,
        };
        assert_eq!(
            h.listings(1, op(update.clone())),
            Err(Reject::NotYourListing)
        );
        h.listings(2, op(update)).unwrap();
        let record = h.market.listings.get(listing).unwrap();
        assert_eq!(
            (record.status, record.post.price),
            (ListingStatus::SoldOut, amt(8))
        );
        let bad = ListingUpdate {
            price: Some(Amount(-1)),
            ..ListingUpdate::default()
        };
        assert_eq!(h.listings(2, op(bad)), Err(Reject::AmountNotPositive));
        h.listings(
            2,
            ListingOp::Withdraw {
                listing_id: listing,
            },
        )
        .unwrap();
        assert_eq!(
            h.purchase(1, listing, 1),
            Err(Reject::ListingNotActive {
                status: ListingStatus::Withdrawn
            })
        );
        assert_eq!(
            h.listings(
                2,
                ListingOp::Withdraw {
                    listing_id: listing
                }
            ),
            Err(Reject::ListingNotActive {
                status: ListingStatus::Withdrawn
            })
        );
        assert_eq!(h.purchase(1, ListingId(9), 1), Err(Reject::UnknownListing));
    }
}
