# ruff: noqa: E501 - most of this file is hand-written template text, kept one sentence per line
"""Write the bundled sample data of Trainset Studio (seeded and deterministic).

Brightwave Electronics is a fictional online electronics retailer. This script writes:

- ``support_sft.jsonl``: its customer-support fine-tuning set (OpenAI SFT chat format) with
  planted problems (small categories, few hard cases, duplicates, near duplicates, malformed
  lines, very long and one-line examples, almost no negative examples);
- ``production_inputs.txt``: production user messages, including topics the training set lacks;
- ``eval_results.csv`` / ``eval_results_base.csv``: a category-classification eval of the
  fine-tuned model and of a well-prompted base model, with failures planted per category;
- ``README.md``: what is planted where, with line numbers.

Only the standard library and numpy are used; the same seed always writes the same bytes.
Run: ``python sample_data/make_samples.py`` (``--out DIR`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

SEED = 20261122
COMPANY = "Brightwave Electronics"
SYSTEM_PROMPT = (
    "You are Brightwave Electronics' customer support assistant. Be friendly, concise and accurate. "
    "Use the customer's order details when they give them, explain the next step clearly, and never "
    "invent order data. Escalate to a human agent when a request needs a manual exception."
)
ALT_SYSTEM_PROMPT = "You are a helpful support agent for an electronics shop."

# Final number of rows per category in support_sft.jsonl, counting duplicates and near duplicates
# but not the malformed lines (which are extra lines, see _MALFORMED).
CATEGORY_COUNTS = {
    "billing": 62,
    "shipping": 58,
    "returns": 55,
    "technical_support": 52,
    "order_status": 48,
    "account": 45,
    "product_info": 36,
    "warranty": 26,
    "gift_cards": 12,
    "data_privacy": 8,
}
SMALL_CATEGORIES = ("gift_cards", "data_privacy")
N_EXACT_DUPLICATES = 15  # 10 byte-identical lines + 5 differing only by case / whitespace
N_NEAR_DUPLICATES = 15
HARD_SHARE, MODERATE_SHARE = 0.05, 0.23

# ----------------------------------------------------------------------------- slot values

PRODUCTS = [
    "Aurora 15 laptop",
    "Aurora 13 Pro laptop",
    "Pulse ANC headphones",
    "Pulse Buds 2 earbuds",
    "Orbit 55-inch 4K TV",
    "Orbit 65-inch OLED TV",
    "Nimbus Wi-Fi 6 router",
    "Nimbus mesh kit (3 pack)",
    "Volt 10,000 mAh power bank",
    "Halo smart speaker",
    "Halo Mini speaker",
    "Vista 27-inch monitor",
    "Vista 32-inch curved monitor",
    "Kite Pro tablet",
    "Kite 10 tablet",
    "Strata mechanical keyboard",
    "Glide wireless mouse",
    "Lumen smart bulb starter kit",
    "Sentry video doorbell",
    "Sentry indoor camera",
    "Tempo fitness watch",
    "Tempo GPS watch",
    "Echo Dock USB-C hub",
    "Forge gaming desktop",
    "Prism 4K projector",
    "Drift robot vacuum",
    "Arc soundbar",
    "Arc subwoofer",
    "Cirrus air purifier",
    "Quill e-reader",
]
FIRST_NAMES = [
    "Maya",
    "Daniel",
    "Priya",
    "Tom",
    "Aisha",
    "Lukas",
    "Chloe",
    "Omar",
    "Grace",
    "Mateo",
    "Hannah",
    "Kenji",
    "Sofia",
    "Ethan",
    "Nadia",
    "Ravi",
    "Emma",
    "Jonah",
    "Leila",
    "Marcus",
]
CARRIERS = ["UPS", "FedEx", "USPS", "DHL Express", "OnTrac"]
CITIES = [
    "Portland",
    "Austin",
    "Denver",
    "Columbus",
    "Raleigh",
    "Tucson",
    "Madison",
    "Spokane",
    "Richmond",
    "Boise",
    "Omaha",
    "Sacramento",
    "Pittsburgh",
    "Albany",
    "Savannah",
]
PAYMENT = ["Visa ending in 4821", "Mastercard ending in 0937", "PayPal", "Apple Pay", "Amex ending in 1004"]
MONTHS = ["June", "July", "August", "September", "October"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

# ----------------------------------------------------------------------------- templates
# Each category is a list of topics: (ways a customer asks, ways the agent answers). A reply is an
# opener, one answer of the topic, for harder rows a second answer and general extras, and a closer.
# Slots ({order}, {product}, ...) differ on every row, so two rows rarely share a long run of words
# (the sample must not look like one big near-duplicate cluster).

TOPICS: dict[str, list[tuple[list[str], list[str]]]] = {
    "billing": [
        (
            [
                "I was charged twice for order {order}. Can you fix this?",
                "Why do I see two charges of ${amount} for the same order {order}?",
            ],
            [
                "I can see a pending authorization of ${amount} and a captured charge of ${amount} on order {order}; the pending one drops off automatically within 3 to 5 business days.",
                "Only one charge for order {order} was actually captured; the second line is a temporary hold from your bank, and I've opened billing review {case} in case it doesn't disappear by {weekday}.",
            ],
        ),
        (
            [
                "Why is there a charge of ${amount} from Brightwave Electronics on my {payment}?",
                "I don't recognise a ${amount} Brightwave charge on my statement from {date}.",
            ],
            [
                "That charge matches order {order}, placed on {date} for the {product}; you can see it under Account > Orders.",
                "The ${amount} on {date} is order {order} for the {product}, which was shipped to {city}. If you didn't place it, reply here and I'll secure your account right away.",
            ],
        ),
        (
            [
                "My invoice for the {product} shows the wrong billing address. How do I get a corrected one?",
                "Can you reissue the invoice for order {order} with my company name on it?",
            ],
            [
                "Update the billing address under Account > Addresses, then download the corrected invoice under Orders > {order} > Invoice.",
                "I've reissued the invoice for order {order} with the details you gave me; the new PDF is in your order page and in your inbox.",
            ],
        ),
        (
            [
                "I used a promo code at checkout but the discount of ${small} wasn't applied to order {order}.",
                "My coupon code didn't work on the {product}. Can you still give me the discount?",
            ],
            [
                "Promo codes only apply to eligible items, but I've added a ${small} credit to order {order} as a one-time courtesy.",
                "The {product} was excluded from that promotion, so the code was rejected; I've applied a ${small} goodwill refund to your {payment} instead.",
            ],
        ),
        (
            [
                "I was billed ${amount} but the price dropped to ${amount2} two days later. Do you do price adjustments?",
                "The {product} I bought last week is cheaper now. Can I get the difference back?",
            ],
            [
                "Price adjustments are available within 14 days of delivery, so I've refunded the difference to your {payment}.",
                "Yes, the drop happened within our 14-day price-protection window; the difference for order {order} goes back to your {payment} within 5 business days.",
            ],
        ),
        (
            [
                "The sales tax on order {order} looks too high for {city}. Can someone check it?",
                "Why was I charged tax on my {product} when I'm tax-exempt?",
            ],
            [
                "The tax rate is set by the shipping address in {city}, and I've asked our tax team to double-check order {order} under case {case}.",
                "Tax-exempt purchases need a certificate on file; upload it under Account > Business, and I'll refund the tax on order {order} once it's approved.",
            ],
        ),
        (
            [
                "My card was declined when I tried to buy the {product}, but the bank says everything is fine.",
                "Why does checkout keep rejecting my {payment}?",
            ],
            [
                "Declines usually come from the bank's fraud filter, so please approve the attempt in your bank app and try again, or use PayPal.",
                "Our system shows the {payment} was declined by the issuer with a 'do not honor' code; calling the number on the card usually clears it in minutes.",
            ],
        ),
        (
            [
                "I cancelled order {order} on {date} but I still see a pending charge of ${amount}.",
                "Order {order} was cancelled, so why is the money still held on my card?",
            ],
            [
                "Cancelled orders release the hold within 5 business days, depending on your bank; order {order} was cancelled before it was charged.",
                "The ${amount} on your {payment} is only an authorization for the cancelled order {order}, and your bank will release it by {weekday}.",
            ],
        ),
        (
            [
                "Do you offer monthly payments for the {product}?",
                "Can I spread the cost of the {product} over several months?",
            ],
            [
                "Monthly payments are offered through Affirm at checkout for orders over $150, with 3, 6 or 12 month plans.",
                "Yes, choose Affirm at checkout: for the {product} that's 12 monthly payments, and 0% APR is available for qualifying customers.",
            ],
        ),
        (
            [
                "There's a ${small} 'service fee' on my receipt that I never agreed to.",
                "What is the extra ${small} line on order {order}?",
            ],
            [
                "That ${small} line is the optional protection plan that was added at checkout, and I've removed it and refunded it to your {payment}.",
                "The ${small} on order {order} is the recycling fee some states require for screens; it's listed under 'Fees' on the product page.",
            ],
        ),
    ],
    "shipping": [
        (
            [
                "How long does standard shipping take to {city}?",
                "If I order the {product} today, when would it get to {city}?",
            ],
            [
                "Standard shipping to {city} takes 3 to 5 business days after the order leaves our warehouse.",
                "Ordered today, the {product} would reach {city} by {weekday} with standard shipping, or a day earlier with express.",
            ],
        ),
        (
            [
                "Can I change the delivery address for order {order}? It hasn't shipped yet.",
                "I typed the wrong street on order {order}. Can you fix the address?",
            ],
            [
                "I've updated the delivery address on order {order}, and the new confirmation email is on its way.",
                "Order {order} was still in the warehouse, so the corrected address is saved; {carrier} will deliver it there.",
            ],
        ),
        (
            ["Do you ship to P.O. boxes?", "Can the {product} be delivered to a P.O. box in {city}?"],
            [
                "We can ship small items to P.O. boxes through USPS, but TVs and desktops need a street address because they ship freight.",
                "The {product} can go to a P.O. box only if it ships with USPS; at checkout pick 'USPS Priority' and the P.O. box address will be accepted.",
            ],
        ),
        (
            [
                "The tracking for my {product} says delivered but nothing arrived. What now?",
                "{carrier} marked order {order} as delivered, but it isn't at my door.",
            ],
            [
                "I've opened a missing-package claim (case {case}) with {carrier}; they usually answer within 48 hours, and we'll send a replacement or refund if it isn't found.",
                "Please check with neighbours and around the building first; if it hasn't turned up by tomorrow, claim {case} is already open with {carrier} and a replacement ships automatically.",
            ],
        ),
        (
            [
                "Is express shipping available for the {product}, and how much is it?",
                "How fast can you get the {product} to {city}?",
            ],
            [
                "Express shipping for the {product} is ${small} and arrives in 1 to 2 business days when you order before 2 p.m.",
                "The fastest option to {city} is next-day express at ${small}; orders placed before 2 p.m. leave the same day.",
            ],
        ),
        (
            [
                "My package from {carrier} has been stuck 'in transit' in {city} for {days} days.",
                "Order {order} hasn't moved in {days} days. Is it lost?",
            ],
            [
                "Packages that sit in one facility for more than 5 days get a carrier trace, and I've started one with {carrier} for you.",
                "Order {order} is not lost yet: {carrier} shows it at the {city} hub, and trace {case} asks them to move it today; if there is no scan in 48 hours, we'll reship.",
            ],
        ),
        (
            [
                "Can I pick up order {order} in a store instead of having it delivered?",
                "Is in-store pickup available for the {product}?",
            ],
            [
                "Store pickup is free, and you'll get a text when order {order} is ready at the counter.",
                "Yes, the {product} is available for pickup at our {city} store; choose 'Pick up' at checkout and bring a photo ID.",
            ],
        ),
        (
            [
                "The box for my {product} arrived crushed. Should I accept it?",
                "My {product} came in a box with a big hole in it.",
            ],
            [
                "If the box is badly damaged, you can refuse the delivery and we'll ship a replacement as soon as it is scanned back.",
                "Please take a photo of the box and the {product} and reply with it here; if anything inside is damaged, I'll send a replacement with express shipping at no cost.",
            ],
        ),
        (
            ["Do you deliver on weekends?", "Will {carrier} deliver my {product} on a Saturday?"],
            [
                "{carrier} delivers on Saturdays in most areas, but not on Sundays.",
                "Saturday delivery is available in {city} for a ${small} surcharge; Sunday deliveries are not offered.",
            ],
        ),
        (
            [
                "I won't be home on {weekday}. Can {carrier} leave the package with a neighbour?",
                "Can order {order} be left at the front desk of my building?",
            ],
            [
                "You can leave delivery instructions in the {carrier} app, including a neighbour's address or a safe place.",
                "I've added 'leave at front desk' to order {order}; {carrier} drivers follow that note unless a signature is needed.",
            ],
        ),
        (
            [
                "Why is my order being shipped in two separate boxes?",
                "Order {order} has two tracking numbers. Is that right?",
            ],
            [
                "Large items ship from a different warehouse, so your order arrives in two boxes on different days.",
                "Yes, order {order} ships from two warehouses; the {product} comes separately with its own {carrier} tracking number.",
            ],
        ),
    ],
    "returns": [
        (
            [
                "How do I return the {product} I bought on {date}?",
                "What's the process for sending back the {product}?",
            ],
            [
                "Start the return under Orders > {order} > Return item and print the prepaid label.",
                "Open your order from {date}, click 'Return item' next to the {product}, choose a reason, and you'll get a {carrier} label by email.",
            ],
        ),
        (
            [
                "I opened the {product} and don't like it. Can I still return it?",
                "Can I return an opened {product}?",
            ],
            [
                "Opened items can be returned within 30 days if all accessories are included, and the original box isn't required.",
                "Yes, the {product} can go back opened as long as it isn't damaged; the refund goes to your {payment}.",
            ],
        ),
        (
            [
                "What's your return window for {product_plain}?",
                "How many days do I have to return {product_plain}?",
            ],
            [
                "You have 30 days from delivery to return most items, and 15 days for opened laptops, tablets and cameras.",
                "For {product_plain} the window is 30 days from delivery, and over the holidays it's extended until January 15.",
            ],
        ),
        (
            [
                "I returned order {order} {days} days ago and still haven't got my refund.",
                "Where is my refund for the {product} I sent back?",
            ],
            [
                "Your return for order {order} was received on {date}, and the refund of ${amount} was issued today to your {payment}.",
                "The warehouse scanned the {product} on {date}; refunds take 3 to 5 business days to reach your {payment}, so it should show by {weekday}.",
            ],
        ),
        (
            [
                "Can I exchange my {product} for a different color instead of returning it?",
                "I'd like to swap the {product} for the bigger model.",
            ],
            [
                "An exchange is handled as a return and a new order, so the new one ships right away.",
                "I've placed the replacement order for you and linked it to the return of the {product}, so you only pay the price difference.",
            ],
        ),
        (
            ["Do I have to pay for return shipping on the {product}?", "Is the return label free?"],
            [
                "Returns are free when the item is faulty or not what you ordered; otherwise a ${small} label fee is taken from the refund.",
                "The label is free for members and for faulty items; for other returns ${small} is deducted from the refund for the {product}.",
            ],
        ),
        (
            [
                "The {product} I received is not what I ordered. How do I send it back?",
                "You sent me the wrong item in order {order}.",
            ],
            [
                "I'm sorry about the mix-up; I've emailed a free return label for order {order} and the right item ships today.",
                "I've arranged a free {carrier} pickup of the wrong item and shipped the {product} you ordered with express delivery.",
            ],
        ),
        (
            [
                "I lost the original box for the {product}. Is a return still possible?",
                "Do I need the original packaging to return something?",
            ],
            [
                "The original box isn't required; any sturdy box works as long as the item is well padded.",
                "You can return the {product} without its box; just include the charger and cables so the refund isn't reduced.",
            ],
        ),
        (
            [
                "Can I return a gift without the giver finding out?",
                "Someone gave me a {product} as a gift. Can I return it for store credit?",
            ],
            [
                "Gift returns are refunded as store credit to you, and the person who gave the gift isn't notified.",
                "Yes, use the gift receipt number on the packing slip; the ${amount} goes to you as Brightwave store credit.",
            ],
        ),
        (
            [
                "My return label for order {order} expired before I could use it.",
                "Can you send a new return label for the {product}?",
            ],
            [
                "I've issued a fresh prepaid label for order {order}; it's valid for 14 days.",
                "A new {carrier} label for the {product} is in your inbox, and it's valid until {date}.",
            ],
        ),
    ],
    "technical_support": [
        (
            [
                "My {product} won't turn on even after charging overnight.",
                "The {product} is completely dead, no lights at all.",
            ],
            [
                "Please hold the power button for 15 seconds to force a restart, then connect the original charger for 30 minutes.",
                "A deep-discharged battery can take a while to wake up: leave the {product_short} on the original charger for an hour, then hold power for 15 seconds.",
            ],
        ),
        (
            [
                "The {product} keeps disconnecting from Wi-Fi every few minutes.",
                "Why does my {product} drop off the network all the time?",
            ],
            [
                "Try moving the {product_short} closer to the router and switching the router to a fixed channel (1, 6 or 11 on 2.4 GHz).",
                "Most drops come from band steering; give the 2.4 GHz network its own name and connect the {product_short} to that one.",
            ],
        ),
        (
            [
                "How do I update the firmware on my {product}?",
                "Is there a software update for the {product}?",
            ],
            [
                "Firmware updates are in the Brightwave Home app under Devices > {product_short} > Settings > Update.",
                "The latest firmware for the {product_short} is {firmware}; it updates itself overnight if auto-update is on.",
            ],
        ),
        (
            [
                "Bluetooth pairing fails between my phone and the {product}.",
                "My phone can't find the {product} over Bluetooth.",
            ],
            [
                "Remove the {product_short} from your phone's Bluetooth list, restart both devices, and pair again within 2 minutes.",
                "Put the {product_short} in pairing mode by holding the Bluetooth button until the light blinks blue, then pick it from your phone's list.",
            ],
        ),
        (
            [
                "The screen on my {product} flickers when brightness is below 50%.",
                "My {product} display flickers at low brightness.",
            ],
            [
                "This sounds like a PWM flicker setting, so please turn on 'Flicker-free dimming' in Display settings.",
                "Firmware {firmware} fixed a low-brightness flicker on the {product_short}; please update, and if it persists, I'll arrange a replacement.",
            ],
        ),
        (
            [
                "My {product} gets very hot while charging. Is that normal?",
                "Is it dangerous that my {product} is warm after charging?",
            ],
            [
                "It's normal for the {product_short} to get warm while fast-charging, but if it is too hot to hold, unplug it and contact us.",
                "Warm is expected with the fast charger; please keep the {product_short} off soft surfaces while charging so it can cool.",
            ],
        ),
        (
            ["How do I factory reset the {product}?", "I want to wipe my {product} before giving it away."],
            [
                "To factory reset, hold the reset button for 10 seconds until the light blinks orange, and note that this erases your settings.",
                "In the app, open Devices > {product_short} > Settings > Reset; remove it from your account afterwards so the new owner can add it.",
            ],
        ),
        (
            [
                "The app says my {product} is offline but the light is green.",
                "My {product} shows as unavailable in the Brightwave Home app.",
            ],
            [
                "Sign out of the app and back in, which refreshes the device status from our servers.",
                "The green light means the {product_short} is on the network; force-closing the app and reopening it usually brings the status back.",
            ],
        ),
        (
            [
                "Audio on the {product} cuts out for a second every few minutes.",
                "Sound drops out on my {product} while watching movies.",
            ],
            [
                "Make sure the {product_short} is on firmware {firmware} or later, which fixed a dropout issue.",
                "Dropouts often come from Wi-Fi interference; please try a wired connection or move the {product_short} away from the microwave.",
            ],
        ),
        (
            [
                "The {product} isn't recognized when I plug it into my laptop.",
                "My computer doesn't see the {product} over USB.",
            ],
            [
                "Please try a different USB-C cable, since many charge-only cables don't carry data.",
                "Plug the {product_short} straight into the laptop, not a hub, and check that it shows up under Settings > Devices.",
            ],
        ),
        (
            [
                "How do I set up the {product} for the first time?",
                "I just got the {product}. Where do I start?",
            ],
            [
                "The quick-start guide for the {product_short} is also in the app under Help > Setup.",
                "Download the Brightwave Home app, tap 'Add device', and follow the steps; setup of the {product_short} takes about five minutes.",
            ],
        ),
    ],
    "order_status": [
        (
            ["Where is my order {order}?", "Any news on order {order}?"],
            [
                "Order {order} shipped on {date} with {carrier}, and it is due to arrive {weekday}.",
                "Order {order} is with {carrier} in {city} right now and should be delivered on {weekday}.",
            ],
        ),
        (
            ["Has order {order} shipped yet?", "Did my {product} leave the warehouse?"],
            [
                "Order {order} is packed and will be handed to {carrier} today.",
                "The {product} left our warehouse this morning; tracking becomes active once {carrier} scans it tonight.",
            ],
        ),
        (
            [
                "When will my {product} arrive? I ordered it on {date}.",
                "What's the delivery date for the {product}?",
            ],
            [
                "The {product_short} from your order of {date} is scheduled for delivery on {weekday}.",
                "Your {product_short} ships from our {city} warehouse, and {carrier} estimates delivery on {weekday}.",
            ],
        ),
        (
            [
                "My order {order} says 'processing' for {days} days. Is something wrong?",
                "Why is order {order} still processing?",
            ],
            [
                "Orders with an item on backorder stay in 'processing' until every item is in stock, and the {product_short} arrives at our warehouse on {date}.",
                "Order {order} was held for a payment check, which is now cleared, so it ships within 24 hours.",
            ],
        ),
        (
            [
                "Can you give me the tracking number for order {order}?",
                "I need the tracking link for my {product}.",
            ],
            [
                "The tracking number for order {order} is {tracking}, and you can follow it on the {carrier} website.",
                "Here it is: {carrier} tracking {tracking}; the link is also in your shipping confirmation email.",
            ],
        ),
        (
            [
                "Part of order {order} arrived but the {product} is missing.",
                "I only got half of order {order}.",
            ],
            [
                "The {product_short} ships separately from the rest of order {order}, so it has its own tracking number.",
                "The rest of order {order} left a different warehouse and arrives on {weekday}; tracking is {tracking}.",
            ],
        ),
        (
            [
                "Is it too late to cancel order {order}?",
                "I want to cancel the {product} I ordered an hour ago.",
            ],
            [
                "Orders can be cancelled until they are packed, and order {order} is still eligible, so I've cancelled it for you.",
                "The {product} was already handed to {carrier}, so it can't be stopped, but you can refuse the delivery or return it for free.",
            ],
        ),
        (
            [
                "The estimated delivery for my {product} changed from {weekday} to next week. Why?",
                "Why did the delivery date of order {order} move?",
            ],
            [
                "The delivery estimate moved because {carrier} reported a weather delay in {city}.",
                "Order {order} missed the truck on {date} because of a scanner outage at the warehouse; it left the next morning.",
            ],
        ),
        (
            [
                "Did my order {order} go through? I never got a confirmation email.",
                "I paid for the {product} but got no confirmation.",
            ],
            [
                "Your payment went through, and I've re-sent the confirmation email for order {order}; please check the spam folder too.",
                "Yes, order {order} for the {product} is confirmed; the email went to the address on your account, so it may be in promotions.",
            ],
        ),
    ],
    "account": [
        (
            [
                "I can't log in to my Brightwave account even after resetting my password.",
                "Login keeps failing even with my new password.",
            ],
            [
                "Please clear your browser cookies for brightwave.com, then sign in with the new password.",
                "The reset worked on our side; an old saved password in the browser is usually the culprit, so type it in by hand once.",
            ],
        ),
        (
            [
                "How do I change the email address on my account?",
                "I need to switch my account to a new email.",
            ],
            [
                "Change your email under Account > Profile > Email; we'll send a confirmation link to the new address.",
                "Go to Account > Profile, edit the email and confirm the link we send; your order history stays with the account.",
            ],
        ),
        (
            [
                "Can I merge two Brightwave accounts? I have orders on both.",
                "I accidentally made a second account. Can you combine them?",
            ],
            [
                "We can merge two accounts, so I've opened request {case} and you'll get a confirmation email at both addresses.",
                "Yes, merge request {case} is open; the orders, rewards and saved addresses move to the account you keep within 2 days.",
            ],
        ),
        (
            ["I never got the verification code by text.", "The SMS code to sign in doesn't arrive."],
            [
                "Verification texts can take a few minutes, and carriers sometimes block short codes, so try 'Send code by email' instead.",
                "Please check that texts from short codes aren't blocked on your phone; meanwhile 'Use email instead' on the sign-in page works too.",
            ],
        ),
        (
            ["How do I turn on two-factor authentication?", "Is there a way to make my account more secure?"],
            [
                "Two-factor authentication is under Account > Security > Two-step sign-in, with an authenticator app or text messages.",
                "Turn on two-step sign-in under Account > Security; an authenticator app is the most secure option.",
            ],
        ),
        (
            [
                "Someone else's address shows up in my saved addresses.",
                "There's an address in {city} in my account that isn't mine.",
            ],
            [
                "That address came from a shared device, so remove it under Account > Addresses and change your password to be safe.",
                "I've removed the {city} address and signed out every device on your account; please set a new password next time you sign in.",
            ],
        ),
        (
            [
                "How do I delete a saved card from my account?",
                "I want to remove my {payment} from my account.",
            ],
            [
                "Saved cards are listed under Account > Payment methods, where you can remove any card that isn't tied to an open order.",
                "Your {payment} is linked to open order {order}; once it ships you can delete the card under Account > Payment methods.",
            ],
        ),
        (
            [
                "My account was locked after too many login attempts.",
                "It says my account is locked. What do I do?",
            ],
            [
                "Accounts unlock automatically after 30 minutes, or right away if you use 'Forgot password'.",
                "I've unlocked it for you; please sign in within the next hour, and use 'Forgot password' if the old one doesn't work.",
            ],
        ),
        (
            [
                "Can I see orders I placed as a guest in my new account?",
                "My guest order {order} isn't in my account.",
            ],
            [
                "Guest orders placed with the same email address appear in your order history within 24 hours.",
                "I've linked guest order {order} to your account, so it now shows under Orders.",
            ],
        ),
        (
            [
                "How do I stop getting marketing emails but keep order updates?",
                "Too many promo emails. Can I just get shipping updates?",
            ],
            [
                "Marketing emails can be switched off under Account > Notifications while order updates stay on.",
                "I've unsubscribed you from promotions; order and shipping emails will still arrive.",
            ],
        ),
    ],
    "product_info": [
        (
            ["Does the {product} work with Apple HomeKit?", "Can I control the {product} with Alexa?"],
            [
                "Yes, the {product_short} works with Apple HomeKit, Google Home and Alexa.",
                "The {product_short} supports Alexa and Google Home out of the box, and HomeKit through the Brightwave Home app.",
            ],
        ),
        (
            [
                "What's the difference between the Aurora 13 Pro and the Aurora 15?",
                "Aurora 13 Pro or Aurora 15 for a student?",
            ],
            [
                "The Aurora 13 Pro is lighter (1.2 kg) with a brighter 500-nit screen, while the Aurora 15 has a bigger battery and a number pad.",
                "For carrying to class the Aurora 13 Pro is easier; the Aurora 15 lasts about 3 hours longer on battery and costs ${small} less.",
            ],
        ),
        (
            ["Is the {product} compatible with {product2}?", "Will the {product} work with my {product2}?"],
            [
                "Yes, the {product_short} works with the {product2} over Bluetooth 5.3 and USB-C.",
                "They work together; connect the {product_short} to the {product2} with the included USB-C cable.",
            ],
        ),
        (
            [
                "How long does the battery of the {product} last?",
                "What's the real-world battery life of the {product}?",
            ],
            [
                "Battery life on the {product_short} is about {hours} hours of mixed use, and about half that with everything at maximum.",
                "Our testing gives the {product_short} {hours} hours with normal use; a full charge takes about 2 hours.",
            ],
        ),
        (
            ["Does the {product} come with a charger in the box?", "What's included with the {product}?"],
            [
                "The box includes a USB-C cable; the charger is sold separately.",
                "The {product_short} comes with a USB-C cable, a quick-start guide and a 30 W charger.",
            ],
        ),
        (
            [
                "Is the {product} in stock for delivery to {city}?",
                "When will the {product} be back in stock?",
            ],
            [
                "The {product_short} is in stock at our {city} warehouse and can arrive in 2 days.",
                "The {product_short} is expected back on {date}; tap 'Notify me' on the product page to get an email.",
            ],
        ),
        (
            ["What are the dimensions and weight of the {product}?", "How big is the {product}?"],
            [
                "The full spec sheet for the {product_short}, with size and weight, is on the product page under 'Specifications'.",
                "The {product_short} weighs {hours}0 grams; the exact dimensions are listed under 'Specifications' on the product page.",
            ],
        ),
        (
            [
                "Which monitor would you recommend for photo editing under ${amount}?",
                "Best monitor for design work?",
            ],
            [
                "For photo editing under ${amount}, the Vista 27 covers 99% of sRGB and comes factory-calibrated.",
                "The Vista 32 curved is great for timelines, but for color accuracy the Vista 27 with its calibration report is the better pick.",
            ],
        ),
        (
            ["Does the {product} support Wi-Fi 6E?", "Which Wi-Fi standard does the {product} use?"],
            [
                "The {product_short} supports Wi-Fi 6, but not 6E.",
                "It uses Wi-Fi 6 on 2.4 and 5 GHz; Wi-Fi 6E is only on the Nimbus mesh kit.",
            ],
        ),
        (
            [
                "Is the {product} a newer model than last year's version?",
                "What changed in the new {product}?",
            ],
            [
                "This year's {product_short} adds USB-C charging and a faster processor; the design is unchanged.",
                "The new {product_short} has a better battery and firmware {firmware}; accessories from the old model still fit.",
            ],
        ),
    ],
    "warranty": [
        (
            [
                "My {product} stopped working after {months} months. Is it covered by warranty?",
                "Is a {months}-month-old {product} still under warranty?",
            ],
            [
                "Your {product_short} is {months} months old, so it's covered by the 1-year warranty, and I've opened warranty case {case}.",
                "Yes, the 1-year limited warranty covers faults like this; warranty case {case} is open and a prepaid label is on its way.",
            ],
        ),
        (
            ["How do I make a warranty claim for the {product}?", "Where do I file a warranty claim?"],
            [
                "Start a claim under Orders > Warranty claim, describe the fault, and we'll email a prepaid label within a day.",
                "Open the order with the {product_short}, choose 'Warranty claim', and attach a short video of the fault if you can.",
            ],
        ),
        (
            [
                "Does the warranty cover a cracked screen on my {product}?",
                "I dropped my {product}. Is that covered?",
            ],
            [
                "Cracked screens count as accidental damage, which the standard warranty doesn't include, but the protection plan does.",
                "Drops are accidental damage; without a protection plan, our repair service can fix the {product_short} for a flat ${small}.",
            ],
        ),
        (
            [
                "Is the extended protection plan worth it for the {product}?",
                "What does the protection plan add for the {product}?",
            ],
            [
                "The protection plan adds 2 years and accidental damage for ${small}, which tends to pay off for laptops and tablets.",
                "For the {product_short}, the plan costs ${small} and covers drops, spills and battery wear for 3 years in total.",
            ],
        ),
        (
            [
                "I bought the {product} from a third-party seller. Is the warranty still valid?",
                "Does the warranty work if I bought the {product} on a marketplace?",
            ],
            [
                "The warranty applies to items bought from Brightwave or an authorized reseller, so please send the receipt.",
                "If the seller is an authorized reseller, the warranty is valid; reply with the receipt and I'll check the seller.",
            ],
        ),
        (
            ["How long is the warranty on {product_plain}?", "What warranty do {product_plain} come with?"],
            [
                "Every Brightwave product has a 1-year limited warranty from the delivery date, and it covers faults, not accidental damage.",
                "{product_plain} come with a 1-year warranty, and batteries are covered for 2 years.",
            ],
        ),
        (
            [
                "My warranty replacement {product} has the same fault as the first one.",
                "The replacement {product} broke the same way.",
            ],
            [
                "Since the replacement shows the same fault, I've escalated case {case} for a refund or an upgrade to the next model.",
                "A repeat fault qualifies for a full refund; case {case} is escalated and a specialist will call you by {weekday}.",
            ],
        ),
        (
            [
                "Can I transfer my protection plan to the person I sold my {product} to?",
                "Does the protection plan stay with the {product} if I sell it?",
            ],
            [
                "Protection plans can be transferred once, so please send the new owner's name and email.",
                "Yes, the plan follows the {product_short}; I'll move it to the new owner when you send their email address.",
            ],
        ),
    ],
    "gift_cards": [
        (
            [
                "My Brightwave gift card says the balance is $0 but I never used it.",
                "My gift card is empty but I haven't spent it.",
            ],
            [
                "I've opened case {case} to check the activity on that card, and if it was never used we'll restore the balance.",
                "Case {case} is open with our gift card team; unused balances are restored within 2 business days.",
            ],
        ),
        (
            ["Can I use two gift cards on one order?", "How many gift cards can I combine?"],
            [
                "You can use up to 5 gift cards on one order and pay the rest with a card.",
                "Up to 5 gift cards work on one order; enter each code in the 'Gift card' box at checkout.",
            ],
        ),
        (
            ["How do I check my gift card balance?", "Where can I see how much is left on my gift card?"],
            [
                "Gift card balances are under Account > Gift cards, or at brightwave.com/balance.",
                "Enter the card number and PIN at brightwave.com/balance, or add the card to your account to see the balance any time.",
            ],
        ),
        (
            [
                "The gift card code I received by email isn't accepted at checkout.",
                "My e-gift card code doesn't work.",
            ],
            [
                "The code must be entered without spaces, and gift cards activate 2 hours after purchase.",
                "E-gift cards activate 2 hours after they're bought; if yours is older, reply with the last 4 digits and I'll check it.",
            ],
        ),
        (
            [
                "Can I get a refund to a gift card instead of my credit card?",
                "Can a return go on a gift card?",
            ],
            [
                "Refunds go back to the original payment method, but store credit is available for gift returns.",
                "Returns are refunded to the original {payment}; only gift returns become store credit.",
            ],
        ),
        (
            ["Do Brightwave gift cards expire?", "Is there a fee on gift cards?"],
            [
                "Brightwave gift cards never expire and have no fees.",
                "They have no expiry date and no fees of any kind.",
            ],
        ),
    ],
    "data_privacy": [
        (
            ["How do I download all the personal data you have about me?", "I want a copy of my data."],
            [
                "You can request a copy of your data under Account > Privacy > Download my data, and the file is ready within 48 hours.",
                "Request it under Account > Privacy; we email a download link within 48 hours, valid for 7 days.",
            ],
        ),
        (
            ["Please delete my account and all my personal data.", "I want my data erased."],
            [
                "I've submitted the deletion request (reference {case}); it's completed within 30 days, and records we must keep for tax law are kept in a locked archive.",
                "Deletion request {case} is filed; you'll get a confirmation email when it's done, within 30 days.",
            ],
        ),
        (
            ["Do you share my purchase history with advertisers?", "Do you sell my data?"],
            [
                "We don't sell or share purchase history with advertisers; the privacy policy lists the service providers we use.",
                "No, your purchase history is never sold; you can also turn off personalised recommendations under Account > Privacy.",
            ],
        ),
        (
            ["Why does the Sentry camera app need my location?", "Does the Sentry app track where I am?"],
            [
                "The Sentry app uses location only for the geofencing feature, and you can turn it off under Settings > Location.",
                "Location is used only to arm the camera when you leave home; switch off geofencing and the app stops asking for it.",
            ],
        ),
    ],
}
PROMPTS = {category: [q for asks, _ in topics for q in asks] for category, topics in TOPICS.items()}
BODIES = {category: [a for _, answers in topics for a in answers] for category, topics in TOPICS.items()}

# General sentences that fit any topic: harder rows get some of them on top of the answer.
EXTRAS = [
    "I've added a note to your account (case {case}) so any agent can see the history.",
    "You'll get an email confirmation within the hour.",
    "If you need anything else on order {order}, reply to this chat and it comes straight back to me.",
    "Our team is available every day from 7 a.m. to 10 p.m. Eastern if you'd rather call.",
    "I've also set a reminder to check on this again on {weekday}.",
    "Everything I did is listed in the confirmation email, so you have it in writing.",
    "The same steps are in our Help Center, in case you want to share them with someone at home.",
]

OPENERS = [
    "Thanks for reaching out{name_comma}.",
    "Happy to help with that{name_comma}.",
    "Thanks for the details{name_comma}.",
    "Good question{name_comma}.",
    "I understand how frustrating that is{name_comma}.",
    "Thanks for letting us know{name_comma}.",
    "Let's get this sorted{name_comma}.",
    "",
    "",
]
CLOSERS = [
    "Is there anything else I can help you with?",
    "Let me know if anything is unclear.",
    "Reply here if you have any other questions.",
    "I hope that helps!",
    "If anything changes, just reply to this chat.",
    "",
    "",
]

FOLLOW_UPS = [
    (
        "Thanks. How long will that take?",
        "It usually takes {days} business days, and you'll get an email as soon as it's done.",
    ),
    (
        "Okay, and will I get an email confirmation?",
        "Yes, a confirmation goes to the email on your account within the hour.",
    ),
    (
        "What if that doesn't work?",
        "Then reply here with the order number and I'll escalate it to a senior agent (case {case}).",
    ),
    ("Can you do that for my other order {order2} too?", "Done, order {order2} has the same update now."),
    ("Great, thanks for the quick help!", "You're welcome, {name}! Have a great day."),
    ("Do I need to do anything else?", "No, everything is set on our side. Just keep an eye on your inbox."),
]

FOREIGN: list[tuple[str, str, str, str]] = [
    (
        "shipping",
        "es",
        "Hola, hice un pedido hace cinco días y todavía no ha llegado. ¿Pueden decirme dónde está mi paquete? El número es {order}.",
        "Hola {name}, gracias por escribirnos. Su pedido {order} salió de nuestro almacén el {date_es} con {carrier} y debería llegar en dos días hábiles. Le enviamos el número de seguimiento por correo electrónico.",
    ),
    (
        "returns",
        "es",
        "Quiero devolver los auriculares que compré la semana pasada porque no me quedan bien. ¿Cómo lo hago?",
        "Claro que sí. Tiene 30 días desde la entrega para devolverlos. Entre en Pedidos, elija el artículo y pulse «Devolver»; la etiqueta de envío es gratuita y el reembolso llega en cinco días hábiles.",
    ),
    (
        "billing",
        "es",
        "Me cobraron dos veces el mismo pedido con mi tarjeta de crédito. ¿Me pueden devolver el dinero, por favor?",
        "Lamento la molestia. Veo un cargo pendiente y uno confirmado; el pendiente desaparece solo en tres a cinco días hábiles. Si sigue apareciendo después, escríbanos y abriremos una revisión.",
    ),
    (
        "technical_support",
        "es",
        "Mi altavoz inteligente no se conecta al wifi de mi casa desde que cambié el router. ¿Qué puedo hacer?",
        "Mantenga pulsado el botón de acción durante diez segundos hasta que la luz parpadee en azul y vuelva a configurarlo en la aplicación con la nueva red. Asegúrese de usar la banda de 2,4 GHz.",
    ),
    (
        "order_status",
        "es",
        "¿Todavía puedo cancelar mi pedido? Lo hice esta mañana y me equivoqué de color.",
        "Sí, todavía no se ha empaquetado, así que lo he cancelado. Recibirá la confirmación por correo y el reembolso completo en su método de pago original.",
    ),
    (
        "shipping",
        "de",
        "Hallo, wie lange dauert der Versand nach Deutschland und welche Kosten fallen dafür an? Ich möchte einen Monitor bestellen.",
        "Hallo {name}, Lieferungen nach Deutschland dauern fünf bis sieben Werktage und kosten 19,90 Euro. Zölle und Einfuhrumsatzsteuer sind bereits im Preis enthalten.",
    ),
    (
        "returns",
        "de",
        "Ich habe den Fernseher erhalten, aber der Bildschirm hat einen Riss. Was soll ich jetzt tun?",
        "Das tut mir sehr leid. Bitte schicken Sie uns ein Foto des Schadens, dann holen wir das Gerät kostenlos ab und liefern innerhalb einer Woche einen neuen Fernseher.",
    ),
    (
        "account",
        "de",
        "Ich kann mich nicht mehr in mein Konto einloggen, obwohl ich das Passwort zurückgesetzt habe. Können Sie mir helfen?",
        "Gerne. Bitte löschen Sie die Cookies Ihres Browsers für unsere Seite und melden Sie sich danach mit dem neuen Passwort an. Wenn das nicht klappt, entsperre ich das Konto manuell.",
    ),
    (
        "warranty",
        "de",
        "Meine Kopfhörer funktionieren nach acht Monaten auf der linken Seite nicht mehr. Ist das ein Garantiefall?",
        "Ja, das ist durch die einjährige Garantie abgedeckt. Ich habe einen Garantiefall eröffnet und Ihnen ein kostenloses Rücksendeetikett per E-Mail geschickt.",
    ),
    (
        "billing",
        "fr",
        "Bonjour, j'ai été débité deux fois pour ma commande de casque. Pouvez-vous vérifier et me rembourser, s'il vous plaît ?",
        "Bonjour {name}, merci pour votre message. Le deuxième montant est une pré-autorisation qui disparaîtra d'elle-même sous trois à cinq jours ouvrés. Aucun double paiement n'a été encaissé.",
    ),
    (
        "product_info",
        "fr",
        "Est-ce que la barre de son est compatible avec mon téléviseur d'une autre marque et faut-il un câble spécial ?",
        "Oui, elle fonctionne avec tous les téléviseurs équipés d'une prise HDMI ARC ou d'une sortie optique. Le câble HDMI est fourni dans la boîte, aucun achat supplémentaire n'est nécessaire.",
    ),
    (
        "shipping",
        "fr",
        "Mon colis est indiqué comme livré mais je ne l'ai jamais reçu. Que dois-je faire maintenant ?",
        "Je suis désolé pour ce désagrément. J'ai ouvert une enquête auprès du transporteur ; si le colis n'est pas retrouvé sous 48 heures, nous vous enverrons un remplacement sans frais.",
    ),
]

# The only negative examples (the Distribution page must find that there are almost none).
NEGATIVES = [
    (
        "order_status",
        "Where is my order BW-000000? I placed it last week.",
        "I couldn't find an order with that number. Could you check the confirmation email for the "
        "order number, or tell me the email address you used at checkout?",
    ),
    (
        "product_info",
        "What's the recommended motor oil for the Drift robot vacuum?",
        "Not applicable: the Drift robot vacuum has no engine, so it never needs oil.",
    ),
    (
        "account",
        "Give me the home address of the customer who bought the last Orbit TV in Denver.",
        "I'm sorry, but I can't share other customers' personal information.",
    ),
]

ONE_LINERS = [
    ("order_status", "Where's my order?", "Please share your order number and I'll look it up."),
    ("shipping", "Do you ship to Canada?", "Yes, shipping to Canada takes 5-8 business days."),
    ("returns", "Return window?", "30 days from delivery."),
    ("gift_cards", "Do gift cards expire?", "No, Brightwave gift cards never expire."),
    ("billing", "Do you take PayPal?", "Yes, we accept PayPal."),
    ("account", "Forgot password.", "Use 'Forgot password' on the sign-in page to get a reset link."),
    ("product_info", "Is the Halo Mini waterproof?", "It's splash-resistant (IPX4), not waterproof."),
    ("technical_support", "Router light is red.", "Restart it; if it stays red, your internet line is down."),
]

# ----------------------------------------------------------------------------- helpers


def _order(rng: np.random.Generator) -> str:
    return f"BW-{int(rng.integers(100000, 999999))}"


def _date(rng: np.random.Generator) -> str:
    return f"{MONTHS[int(rng.integers(len(MONTHS)))]} {int(rng.integers(1, 29))}"


def _slots(rng: np.random.Generator) -> dict[str, str]:
    product = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
    amount = int(rng.integers(40, 1900))
    return {
        "order": _order(rng),
        "order2": _order(rng),
        "product": product,
        "product_short": product.split(" (")[0],
        "product_plain": ["laptops", "headphones", "TVs", "tablets", "smart home devices", "monitors"][
            int(rng.integers(6))
        ],
        "product2": PRODUCTS[int(rng.integers(len(PRODUCTS)))],
        "amount": f"{amount}.{int(rng.integers(0, 100)):02d}",
        "amount2": f"{int(amount * 0.85)}.{int(rng.integers(0, 100)):02d}",
        "small": f"{int(rng.integers(5, 60))}.{int(rng.integers(0, 100)):02d}",
        "company": COMPANY,
        "payment": PAYMENT[int(rng.integers(len(PAYMENT)))],
        "city": CITIES[int(rng.integers(len(CITIES)))],
        "carrier": CARRIERS[int(rng.integers(len(CARRIERS)))],
        "date": _date(rng),
        "date_es": f"{int(rng.integers(1, 29))} de julio",
        "days": str(int(rng.integers(3, 12))),
        "weekday": WEEKDAYS[int(rng.integers(len(WEEKDAYS)))],
        "months": str(int(rng.integers(3, 12))),
        "hours": str(int(rng.integers(8, 40))),
        "case": f"CS-{int(rng.integers(20000, 99999))}",
        "tracking": f"1Z{int(rng.integers(10**9, 10**10 - 1))}{int(rng.integers(100, 999))}",
        "firmware": f"{int(rng.integers(2, 5))}.{int(rng.integers(0, 9))}.{int(rng.integers(0, 30))}",
        "name": FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))],
    }


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format(**slots)


def _reply(answer: str, n_extra: int, slots: dict[str, str], rng: np.random.Generator) -> str:
    extras = [EXTRAS[int(i)] for i in rng.choice(len(EXTRAS), size=n_extra, replace=False)]
    use_name = rng.random() < 0.4
    opener = OPENERS[int(rng.integers(len(OPENERS)))].replace(
        "{name_comma}", f", {slots['name']}" if use_name else ""
    )
    closer = CLOSERS[int(rng.integers(len(CLOSERS)))]
    parts = [opener, _fill(answer, slots), *(_fill(e, slots) for e in extras), closer]
    return " ".join(p for p in parts if p)


def _sft_row(
    messages: list[dict], category: str, difficulty: str, *, system: str | None = SYSTEM_PROMPT
) -> dict:
    full = ([{"role": "system", "content": system}] if system else []) + messages
    return {"messages": full, "category": category, "difficulty": difficulty, "source": "real"}


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of lower-cased, whitespace-split text (the dedup page's default view)."""
    words = text.lower().split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    """Jaccard similarity of two sets (0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def _text_of(row: dict) -> str:
    """Prompt + response text: user and assistant turns, system prompt excluded."""
    return " ".join(
        m["content"]
        for m in row["messages"]
        if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str)
    )


# ----------------------------------------------------------------------------- long examples


def _router_log(rng: np.random.Generator, lines: int) -> str:
    events = [
        "WAN link state changed: down (reason=PPPoE timeout, retries={n})",
        "WAN link state changed: up (ip=100.{a}.{b}.{c}, gateway=100.{a}.{b}.1)",
        "DHCP lease renewed for client {mac} (hostname={host}, ip=192.168.1.{c})",
        "wlan1: STA {mac} deauthenticated (reason=4 inactivity, rssi=-{r} dBm)",
        "wlan0: channel switched from {ch1} to {ch2} (radar={radar}, utilization={u}%)",
        "mesh: satellite node-{n} backhaul rssi -{r} dBm, tx rate {rate} Mbps",
        "kernel: nf_conntrack: table full, dropping packet (count={big})",
        "dnsmasq: query[A] {host}.brightwave-cloud.com from 192.168.1.{c}",
        "watchdog: cpu load {u}% memory {m}% temperature {t}C",
        "firmware: update check finished (current=3.{n}.{c}, latest=3.{n}.{c}, channel=stable)",
    ]
    hosts = ["kite-tablet", "aurora-15", "halo-kitchen", "sentry-door", "tempo-watch", "forge-pc", "orbit-tv"]
    out = []
    start = dt.datetime(2026, 8, 14, 6, 0, 0)
    for i in range(lines):
        stamp = (start + dt.timedelta(seconds=int(i * 37 + rng.integers(0, 30)))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        template = events[int(rng.integers(len(events)))]
        mac = ":".join(f"{int(x):02x}" for x in rng.integers(0, 256, size=6))
        text = template.format(
            n=int(rng.integers(1, 9)),
            a=int(rng.integers(64, 127)),
            b=int(rng.integers(0, 255)),
            c=int(rng.integers(2, 250)),
            mac=mac,
            host=hosts[int(rng.integers(len(hosts)))],
            r=int(rng.integers(45, 90)),
            ch1=int(rng.choice([36, 44, 149, 157])),
            ch2=int(rng.choice([40, 48, 153, 161])),
            radar=bool(rng.random() < 0.2),
            u=int(rng.integers(5, 99)),
            rate=int(rng.integers(86, 1201)),
            big=int(rng.integers(16000, 65536)),
            m=int(rng.integers(30, 95)),
            t=int(rng.integers(48, 92)),
        )
        out.append(f"{stamp} nimbus[{int(rng.integers(200, 4000))}]: {text}")
    return "\n".join(out)


def _email_thread(rng: np.random.Generator, messages: int) -> str:
    out = []
    for i in range(messages):
        slots = _slots(rng)
        who = "Me" if i % 2 == 0 else f"Brightwave Support ({slots['name']})"
        body = " ".join(
            _fill(BODIES["billing"][int(j)], slots)
            for j in rng.choice(len(BODIES["billing"]), 3, replace=False)
        )
        complaint = (
            f"I'm writing again about the ${slots['amount']} charge on my {slots['payment']} for order {slots['order']}. "
            f"It's now been {slots['days']} days and I still see it on my statement from {slots['date']}."
        )
        out.append(f"--- {who}, {slots['date']}, 2026 ---\n" + (complaint if i % 2 == 0 else body))
    return "\n\n".join(out)


def _long_guide(rng: np.random.Generator, steps: int) -> str:
    out = [
        "Here is the full troubleshooting guide for intermittent disconnects on the Nimbus mesh kit. Work through the steps in order and note which one changes the behaviour."
    ]
    actions = BODIES["technical_support"] + BODIES["shipping"][:3]
    for i in range(1, steps + 1):
        slots = _slots(rng)
        action = _fill(actions[int(rng.integers(len(actions)))], slots)
        out.append(
            f"Step {i}. Check node {int(rng.integers(1, 4))} at {slots['date']} readings: signal -{int(rng.integers(45, 80))} dBm, "
            f"backhaul {int(rng.integers(200, 1200))} Mbps. {action} If the log shows code E{int(rng.integers(100, 999))}, "
            f"write it down with the time ({int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}) before continuing."
        )
    return "\n\n".join(out)


def _long_examples(rng: np.random.Generator) -> list[dict]:
    log = _router_log(rng, 190)
    user1 = (
        "My Nimbus mesh keeps dropping every evening. Here is the full system log from the admin page:\n\n"
        + log
    )
    reply1 = (
        "Thanks for the complete log. The pattern is clear: 'nf_conntrack: table full' appears right before each WAN drop, "
        "which happens when a device opens thousands of connections. Please update to firmware 3.8.2, which doubles the "
        "connection table, and check whether a torrent client or a camera is uploading in the evening."
    )
    user2 = "Please read the whole thread below, I've explained this four times already.\n\n" + _email_thread(
        rng, 56
    )
    reply2 = (
        "I've read the whole thread, and I'm sorry it took this long. I've refunded the disputed charge today and "
        "added a note to your account so that nobody asks you to explain it again. You'll get the refund confirmation by email."
    )
    user3 = "Can you send me the complete troubleshooting guide for my Nimbus mesh? I want to go through everything myself."
    guide = _long_guide(rng, 70)
    log2 = _router_log(rng, 150)
    user4 = "Second log from today, same problem on the Orbit TV. Attaching everything:\n\n" + log2
    reply4 = "Thanks. This log shows channel switches caused by radar detection on 5 GHz; please set a fixed channel in the 36-48 range."
    return [
        _sft_row(
            [{"role": "user", "content": user1}, {"role": "assistant", "content": reply1}],
            "technical_support",
            "hard",
        ),
        _sft_row(
            [{"role": "user", "content": user2}, {"role": "assistant", "content": reply2}], "billing", "hard"
        ),
        _sft_row(
            [{"role": "user", "content": user3}, {"role": "assistant", "content": guide}],
            "technical_support",
            "hard",
        ),
        _sft_row(
            [{"role": "user", "content": user4}, {"role": "assistant", "content": reply4}],
            "technical_support",
            "moderate",
        ),
    ]


# ----------------------------------------------------------------------------- the SFT set


def _multi_paragraph_prompt(question: str, slots: dict[str, str]) -> str:
    return (
        f"Hi, I need some help. {question}\n\n"
        f"Some background: I ordered on {slots['date']} and paid with my {slots['payment']}. I already talked to "
        f"someone on the phone who said it would be sorted out, but nothing happened.\n\n"
        f"Could you please tell me exactly what happens next and when? My order number is {slots['order']}."
    )


def _make_example(category: str, difficulty: str, rng: np.random.Generator) -> dict:
    slots = _slots(rng)
    asks, answers = TOPICS[category][int(rng.integers(len(TOPICS[category])))]
    question = _fill(asks[int(rng.integers(len(asks)))], slots)
    user = (
        _multi_paragraph_prompt(question, slots) if difficulty == "hard" and rng.random() < 0.5 else question
    )
    n_extra = {"easy": 0, "moderate": 1, "hard": 2}[difficulty]
    reply = _reply(answers[int(rng.integers(len(answers)))], n_extra, slots, rng)
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    if difficulty != "easy" and rng.random() < (0.6 if difficulty == "hard" else 0.25):
        follow_q, follow_a = FOLLOW_UPS[int(rng.integers(len(FOLLOW_UPS)))]
        messages += [
            {"role": "user", "content": _fill(follow_q, slots)},
            {"role": "assistant", "content": _fill(follow_a, slots)},
        ]
    system = SYSTEM_PROMPT if rng.random() > 0.06 else (ALT_SYSTEM_PROMPT if rng.random() < 0.5 else None)
    return _sft_row(messages, category, difficulty, system=system)


def _too_similar(row: dict, kept: list[set], limit: float = 0.5) -> bool:
    sh = shingles(_text_of(row))
    return any(jaccard(sh, other) >= limit for other in kept)


def _difficulties(n: int, rng: np.random.Generator) -> list[str]:
    hard = round(n * HARD_SHARE)
    moderate = round(n * MODERATE_SHARE)
    labels = ["hard"] * hard + ["moderate"] * moderate + ["easy"] * (n - hard - moderate)
    return [labels[int(i)] for i in rng.permutation(n)]


def _specials() -> list[dict]:
    rows = []
    for category, user, assistant in NEGATIVES:
        rows.append(
            _sft_row(
                [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
                category,
                "easy",
            )
        )
    for category, user, assistant in ONE_LINERS:
        rows.append(
            _sft_row(
                [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
                category,
                "easy",
            )
        )
    return rows


def _foreign(rng: np.random.Generator) -> list[dict]:
    rows = []
    for category, _lang, user, assistant in FOREIGN:
        slots = _slots(rng)
        messages = [
            {"role": "user", "content": _fill(user, slots)},
            {"role": "assistant", "content": _fill(assistant, slots)},
        ]
        rows.append(_sft_row(messages, category, "easy" if rng.random() < 0.75 else "moderate"))
    return rows


def _tool_examples(rng: np.random.Generator) -> list[dict]:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look up an order by its number.",
                "parameters": {
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
            },
        }
    ]
    rows = []
    for i in range(3):
        slots = _slots(rng)
        call = {
            "id": f"call_{i + 1}",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": json.dumps({"order_id": slots["order"]})},
        }
        result = json.dumps(
            {
                "order_id": slots["order"],
                "status": "shipped",
                "carrier": slots["carrier"],
                "eta": slots["date"],
            }
        )
        messages = [
            {"role": "user", "content": f"Can you check order {slots['order']} for me?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": result},
            {
                "role": "assistant",
                "content": f"Order {slots['order']} has shipped with {slots['carrier']} and should arrive on {slots['date']}.",
            },
        ]
        row = _sft_row(messages, "order_status", "moderate")
        row["tools"] = tools
        rows.append(row)
    return rows


def _unique_rows(rng: np.random.Generator, reserved: Counter) -> list[dict]:
    """Generate the unique (non-duplicate) rows of each category, rejecting accidental near duplicates."""
    fixed = _specials() + _foreign(rng) + _tool_examples(rng) + _long_examples(rng)
    kept_shingles = [shingles(_text_of(r)) for r in fixed]
    rows = list(fixed)
    have = Counter(r["category"] for r in fixed)
    for category, total in CATEGORY_COUNTS.items():
        need = total - have[category] - reserved[category]
        for difficulty in _difficulties(need, rng):
            for _attempt in range(200):
                row = _make_example(category, difficulty, rng)
                if not _too_similar(row, kept_shingles):
                    break
            kept_shingles.append(shingles(_text_of(row)))
            rows.append(row)
    return rows


_SUBSTITUTIONS = {
    "please": "kindly",
    "order": "purchase",
    "today": "now",
    "usually": "typically",
    "within": "in",
    "email": "e-mail",
    "help": "assist",
    "business": "working",
    "free": "complimentary",
    "check": "verify",
    "about": "roughly",
    "right": "straight",
    "get": "receive",
    "under": "in",
    "new": "fresh",
    "also": "too",
    "can": "could",
    "will": "shall",
    "the": "your",
    "your": "the",
    "and": "&",
    "for": "to",
}


def _edit_words(text: str, k: int, rng: np.random.Generator) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in _SUBSTITUTIONS]
    if not candidates:
        return text
    # edits close together touch fewer 5-grams, so larger edits still stay near duplicates
    start = int(rng.integers(max(1, len(candidates) - k + 1)))
    chosen = candidates[start : start + k]
    for i in chosen:
        word = words[i]
        core = word.strip(".,!?")
        new = _SUBSTITUTIONS[core.lower()]
        words[i] = word.replace(core, new.capitalize() if core[:1].isupper() else new)
    return " ".join(words)


def _near_duplicate(row: dict, rng: np.random.Generator) -> tuple[dict, int, float]:
    """Copy ``row`` with 1-5 words of its longest assistant reply edited, keeping Jaccard >= 0.8."""
    original = shingles(_text_of(row))
    for k in (5, 4, 3, 2, 1):
        copy = json.loads(json.dumps(row))
        reply = _longest_reply(copy)
        edited = _edit_words(reply["content"], k, rng)
        if edited == reply["content"]:
            continue
        reply["content"] = edited
        sim = jaccard(original, shingles(_text_of(copy)))
        if sim >= 0.83:
            changed = sum(a != b for a, b in zip(reply_words(row), reply_words(copy), strict=True))
            return copy, changed, sim
    raise RuntimeError("could not make a near duplicate")


def _longest_reply(row: dict) -> dict:
    replies = [m for m in row["messages"] if m["role"] == "assistant" and isinstance(m.get("content"), str)]
    return max(replies, key=lambda m: len(m["content"]))


def reply_words(row: dict) -> list[str]:
    """Words of the longest assistant reply."""
    return _longest_reply(row)["content"].split(" ")


def _case_whitespace_variant(row: dict, i: int) -> dict:
    copy = json.loads(json.dumps(row))
    user = next(m for m in copy["messages"] if m["role"] == "user")
    user["content"] = [
        user["content"].lower(),
        user["content"].upper(),
        "  " + user["content"] + "  ",
        user["content"].replace(" ", "  "),
        user["content"] + "\n",
    ][i % 5]
    return copy


def _timestamps(n: int, rng: np.random.Generator) -> list[str]:
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    seconds = np.sort(rng.integers(0, 120 * 86400, size=n))
    return [(start + dt.timedelta(seconds=int(s))).isoformat().replace("+00:00", "Z") for s in seconds]


def _malformed_lines(rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(line text, problem, short kind) for each planted malformed line."""
    slots = _slots(rng)
    sys_msg = {"role": "system", "content": SYSTEM_PROMPT}
    meta = {
        "category": "shipping",
        "difficulty": "easy",
        "source": "real",
        "created_at": "2026-07-02T10:15:00Z",
    }

    def line(messages: list[dict], **extra: object) -> str:
        return json.dumps({"messages": messages, **meta, **extra}, ensure_ascii=False)

    truncated = line(
        [
            sys_msg,
            {"role": "user", "content": f"Where is order {slots['order']}?"},
            {"role": "assistant", "content": "It shipped yesterday with UPS and should arrive on Friday."},
        ]
    )
    truncated = truncated[: len(truncated) // 2 + 7]
    call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "lookup_order", "arguments": {"order_id": slots["order"]}},
    }
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            },
        }
    ]
    return [
        (truncated, "invalid JSON: the line is truncated in the middle of a string", "invalid_json"),
        (
            line(
                [
                    sys_msg,
                    {
                        "role": "user",
                        "content": "Can I change the delivery address after the order has shipped?",
                    },
                ]
            ),
            "no assistant message",
            "missing_assistant",
        ),
        (
            line(
                [
                    sys_msg,
                    {"role": "user", "content": "Do you deliver on Sundays?"},
                    {"role": "assistant", "content": "No, deliveries run Monday to Saturday.", "weight": 2},
                ]
            ),
            "assistant `weight` is 2 (only 0 or 1 allowed)",
            "weight",
        ),
        (
            line(
                [
                    {"role": "developer", "content": "Answer in one sentence."},
                    {"role": "user", "content": "Is shipping free over $35?"},
                    {"role": "assistant", "content": "Yes, standard shipping is free on orders over $35."},
                ]
            ),
            "`developer` role (not allowed in SFT)",
            "role",
        ),
        (
            line(
                [
                    sys_msg,
                    {"role": "user", "content": f"Check order {slots['order']} please."},
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": "call_9", "content": '{"status": "shipped"}'},
                    {"role": "assistant", "content": "It has shipped."},
                ],
                tools=tools,
            ),
            "tool-call `arguments` is a JSON object, not a JSON-encoded string",
            "arguments",
        ),
        (
            line(
                [
                    sys_msg,
                    {"role": "customer", "content": "My parcel is late."},
                    {"role": "assistant", "content": "Let me check the tracking for you."},
                ]
            ),
            "unknown role `customer`",
            "role",
        ),
    ]


def build_sft(rng: np.random.Generator) -> tuple[list[str], dict]:
    """Return the JSONL lines of support_sft.jsonl and the facts the README documents."""
    big = [c for c in CATEGORY_COUNTS if c not in SMALL_CATEGORIES]
    dup_cats = [big[i % 6] for i in range(N_EXACT_DUPLICATES)]
    near_cats = [big[(i + 2) % 7] for i in range(N_NEAR_DUPLICATES)]
    reserved = Counter(dup_cats) + Counter(near_cats)
    rows = _unique_rows(rng, reserved)
    order = [int(i) for i in rng.permutation(len(rows))]
    rows = [rows[i] for i in order]
    for row, stamp in zip(rows, _timestamps(len(rows), rng), strict=True):
        row["created_at"] = stamp
    # originals of the planted copies: English, short to medium, and (for near dups) long enough
    plain = [
        i
        for i, r in enumerate(rows)
        if r["category"] in big
        and len(r["messages"]) <= 5
        and "tools" not in r
        and 40 <= len(_text_of(r).split()) <= 400
    ]
    dup_orig, near_orig = _pick_originals(rows, plain, dup_cats, near_cats, rng)
    copies: list[tuple[int, dict, str, dict]] = []  # (original index, row, kind, facts)
    for j, i in enumerate(dup_orig):
        copy = json.loads(json.dumps(rows[i])) if j < 10 else _case_whitespace_variant(rows[i], j)
        kind = "exact" if j < 10 else "exact_normalised"
        copies.append((i, copy, kind, {}))
    for i in near_orig:
        copy, changed, sim = _near_duplicate(rows[i], rng)
        copy["created_at"] = _timestamps(1, rng)[0]
        copies.append((i, copy, "near", {"words_changed": changed, "jaccard": round(sim, 3)}))
    return _assemble(rows, copies, rng)


def _pick_originals(
    rows: list[dict], plain: list[int], dup_cats: list[str], near_cats: list[str], rng: np.random.Generator
) -> tuple[list[int], list[int]]:
    used: set[int] = set()
    picks: list[list[int]] = [[], []]
    for slot, cats in enumerate((dup_cats, near_cats)):
        for cat in cats:
            pool = [i for i in plain if rows[i]["category"] == cat and i not in used]
            if slot == 1:  # long originals first, so 5-word edits still keep Jaccard >= 0.8
                pool.sort(key=lambda i: -len(_text_of(rows[i]).split()))
                pool = pool[:4]
            i = int(pool[int(rng.integers(len(pool)))])
            used.add(i)
            picks[slot].append(i)
    return picks[0], picks[1]


def _assemble(rows: list[dict], copies: list, rng: np.random.Generator) -> tuple[list[str], dict]:
    """Insert copies after their originals and malformed lines at fixed places; number the lines."""
    items: list[tuple[str, dict | None, dict]] = [("row", r, {"orig": k}) for k, r in enumerate(rows)]
    for orig, copy, kind, facts in copies:
        position = next(p for p, it in enumerate(items) if it[0] == "row" and it[2].get("orig") == orig)
        offset = int(rng.integers(5, 120))
        items.insert(min(len(items), position + offset), (kind, copy, {"copy_of": orig, **facts}))
    malformed = _malformed_lines(rng)
    for slot, (text, problem, code) in zip((23, 88, 147, 219, 288, 351), malformed, strict=True):
        items.insert(slot - 1, ("malformed", None, {"text": text, "problem": problem, "kind": code}))
    return _number(items)


def _number(items: list) -> tuple[list[str], dict]:
    lines: list[str] = []
    line_of_orig: dict[int, int] = {}
    facts: dict = {
        "exact": [],
        "near": [],
        "malformed": [],
        "negatives": [],
        "one_liners": [],
        "long": [],
        "foreign": [],
        "multi_turn": 0,
        "multi_paragraph": 0,
        "tools": [],
    }
    for number, (kind, _row, info) in enumerate(items, 1):
        if kind == "row":
            line_of_orig[info["orig"]] = number
    for kind, row, info in items:
        number = len(lines) + 1
        if kind == "malformed":
            lines.append(info["text"])
            facts["malformed"].append({"line": number, "problem": info["problem"], "kind": info["kind"]})
            continue
        lines.append(json.dumps(row, ensure_ascii=False))
        _note(facts, kind, row, info, number, line_of_orig)
    return lines, facts


def _note(facts: dict, kind: str, row: dict, info: dict, number: int, line_of_orig: dict[int, int]) -> None:
    if kind in ("exact", "exact_normalised"):
        facts["exact"].append({"line": number, "copy_of": line_of_orig[info["copy_of"]], "kind": kind})
    elif kind == "near":
        facts["near"].append(
            {
                "line": number,
                "copy_of": line_of_orig[info["copy_of"]],
                "words_changed": info["words_changed"],
                "jaccard": info["jaccard"],
            }
        )
        return
    if kind != "row":
        return
    reply = next(m for m in reversed(row["messages"]) if m["role"] == "assistant")["content"] or ""
    user = next(m["content"] for m in row["messages"] if m["role"] == "user")
    if any(reply.startswith(n[2][:25]) for n in NEGATIVES):
        facts["negatives"].append(number)
    if any(user == o[1] for o in ONE_LINERS):
        facts["one_liners"].append(number)
    if len(_text_of(row)) > 8000:
        facts["long"].append({"line": number, "chars": len(_text_of(row))})
    if any(user.startswith(f[2][:20]) for f in FOREIGN):
        facts["foreign"].append(number)
    if "tools" in row:
        facts["tools"].append(number)
    facts["multi_turn"] += sum(m["role"] == "user" for m in row["messages"]) > 1
    facts["multi_paragraph"] += user.count("\n\n") >= 2 and len(_text_of(row)) < 8000


# ----------------------------------------------------------------------------- production inputs

INSTALLATION = [
    "Can I book a technician to mount my {product} on the wall?",
    "When is my installation appointment for the {product}? I booked it for {weekday}.",
    "The technician didn't show up for my {product} installation today.",
    "Do you offer in-home installation for a home theater with the {product}?",
    "Can I reschedule the installation visit for order {order} to next {weekday}?",
    "How much does professional installation cost for the {product}?",
    "The installer left scratches on my wall when mounting the {product}. Who do I contact?",
    "Does the installation appointment include removing my old TV?",
    "I need someone to set up the {product} and connect it to my network. Do you send a technician?",
    "What time window will the technician arrive in for my {weekday} appointment?",
]
TRADE_IN = [
    "How does the trade-in program work for my old {product}?",
    "What would I get if I trade in a 3-year-old laptop toward the {product}?",
    "My trade-in credit for the {product} was lower than the quote. Why?",
    "Can I trade in a phone from another brand?",
    "How long does it take to receive trade-in credit after you get my device?",
    "Do I need to wipe my {product} before sending it for trade-in?",
    "Can I use my trade-in credit together with a promo code?",
    "The trade-in kit for my {product} never arrived.",
    "Is there a trade-in bonus this month on {product_plain}?",
    "Where do I print the shipping label for my trade-in?",
]
PRODUCTION_FOREIGN = [
    "¿Cuándo llega mi pedido {order}? Lo compré hace una semana y no tengo noticias.",
    "Quiero cambiar la dirección de entrega de mi pedido, ¿es posible todavía?",
    "Mi portátil no enciende después de la actualización, ¿qué puedo hacer?",
    "Wo ist meine Bestellung {order}? Die Sendungsverfolgung zeigt seit Tagen nichts an.",
    "Kann ich den Monitor zurückgeben, obwohl ich die Verpackung schon weggeworfen habe?",
    "Ma commande {order} est arrivée incomplète, il manque le câble. Que faire ?",
    "Comment puis-je obtenir une facture avec TVA pour mon entreprise ?",
]


def _long_production(rng: np.random.Generator, category: str | None = None) -> str:
    slots = _slots(rng)
    category = category or list(PROMPTS)[int(rng.integers(8))]
    first = _fill(PROMPTS[category][int(rng.integers(len(PROMPTS[category])))], slots)
    return (
        f"Hello, I hope someone can finally help me. {first} I have been a customer for years and this is the first time "
        f"something like this has happened. I ordered on {slots['date']} and paid with my {slots['payment']}. "
        f"Then I called your hotline twice, the first agent told me to wait {slots['days']} days and the second one told me "
        f"to write to this chat instead. Meanwhile I also noticed that the {slots['product']} I wanted as a replacement "
        f"is now listed at ${slots['amount']}, which is more than I paid. I would like to know exactly what you will do, "
        f"when it will happen, and whether I need to send anything back. My order number is {slots['order']} and I live "
        f"in {slots['city']}. Thank you for reading all of this."
    )


def build_production(rng: np.random.Generator) -> tuple[list[str], dict[str, int]]:
    """Return production inputs (one per line) and how many of each kind were written."""
    kinds: list[tuple[str, str]] = []
    weights = np.array([CATEGORY_COUNTS[c] for c in CATEGORY_COUNTS], dtype=float)
    for _ in range(300):
        category = list(CATEGORY_COUNTS)[int(rng.choice(len(weights), p=weights / weights.sum()))]
        kinds.append(
            ("covered", _fill(PROMPTS[category][int(rng.integers(len(PROMPTS[category])))], _slots(rng)))
        )
    kinds += [("installation", _fill(INSTALLATION[i % len(INSTALLATION)], _slots(rng))) for i in range(40)]
    kinds += [("trade_in", _fill(TRADE_IN[i % len(TRADE_IN)], _slots(rng))) for i in range(30)]
    kinds += [("long", _long_production(rng)) for _ in range(18)]
    kinds += [
        ("foreign", _fill(PRODUCTION_FOREIGN[i % len(PRODUCTION_FOREIGN)], _slots(rng))) for i in range(14)
    ]
    order = rng.permutation(len(kinds))
    shuffled = [kinds[int(i)] for i in order]
    return [text for _, text in shuffled], dict(Counter(kind for kind, _ in shuffled))


# ----------------------------------------------------------------------------- eval results

EVAL_COUNTS = {
    "billing": 25,
    "shipping": 25,
    "returns": 25,
    "technical_support": 25,
    "order_status": 20,
    "account": 20,
    "product_info": 20,
    "warranty": 20,
    "gift_cards": 10,
    "data_privacy": 10,
}
# (wrong for fine-tuned, wrong for base, label the errors go to)
EVAL_ERRORS = {
    "billing": (1, 1, "gift_cards"),
    "shipping": (1, 7, "order_status"),
    "returns": (1, 2, "warranty"),
    "technical_support": (1, 7, "warranty"),
    "order_status": (0, 6, "shipping"),
    "account": (0, 4, "data_privacy"),
    "product_info": (3, 0, "technical_support"),
    "warranty": (10, 10, "returns"),
    "gift_cards": (6, 6, "billing"),
    "data_privacy": (0, 1, "account"),
}


def _eval_inputs(category: str, count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(kind, text) for one category: its non-English inputs first, then 2 long ones, then short English."""
    inputs = [("foreign", _fill(user, _slots(rng))) for cat, _lang, user, _ in FOREIGN if cat == category]
    if count >= 20:
        inputs += [("long", _long_production(rng, category)) for _ in range(2)]
    prompts = PROMPTS[category]
    inputs += [("plain", _fill(prompts[k % len(prompts)], _slots(rng))) for k in range(count - len(inputs))]
    return inputs


def build_eval(rng: np.random.Generator) -> tuple[list[dict], list[dict], dict[str, list[int]]]:
    """Return the fine-tuned and base-model eval rows (same ids and inputs) and failures per input kind.

    The fine-tuned model's failures are a category's first rows (its non-English and long inputs, so
    those slices suffer too); the base model's failures are a category's last (short English) rows.
    """
    fine, base = [], []
    kinds: dict[str, list[int]] = {"foreign": [0, 0], "long": [0, 0]}  # [rows, fine-tuned failures]
    n = 0
    for category, count in EVAL_COUNTS.items():
        ft_wrong, base_wrong, wrong_label = EVAL_ERRORS[category]
        for k, (kind, text) in enumerate(_eval_inputs(category, count, rng)):
            n += 1
            row = {"id": f"ev-{n:04d}", "input": text, "expected": category, "category": category}
            fine.append({**row, "predicted": wrong_label if k < ft_wrong else category})
            base.append({**row, "predicted": wrong_label if k >= count - base_wrong else category})
            if kind in kinds:
                kinds[kind][0] += 1
                kinds[kind][1] += k < ft_wrong
    order = [int(i) for i in rng.permutation(len(fine))]
    return [fine[i] for i in order], [base[i] for i in order], kinds


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["id", "input", "expected", "predicted", "category"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- README


def _readme(
    facts: dict,
    lines: list[str],
    production: dict[str, int],
    n_production: int,
    eval_kinds: dict[str, list[int]],
) -> str:
    bad = {m["line"] for m in facts["malformed"]}
    well = [json.loads(x) for number, x in enumerate(lines, 1) if number not in bad]
    categories = Counter(r["category"] for r in well)
    difficulty = Counter(r["difficulty"] for r in well)
    out = [README_HEAD.format(company=COMPANY, n_lines=len(lines), n_valid=len(well))]
    out.append("| category | rows |\n|---|---|")
    out += [f"| {c} | {categories[c]} |" for c in CATEGORY_COUNTS]
    out.append(
        "\n`gift_cards` and `data_privacy` are under 20 and `warranty` is under 30. The malformed lines "
        "(below) come on top; those that parse as JSON say `shipping` / `easy`.\n"
    )
    out.append(
        "Difficulty over the well-formed rows (target 60 / 25 / 15):\n\n| difficulty | rows | share |\n|---|---|---|"
    )
    out += [
        f"| {d} | {difficulty[d]} | {difficulty[d] / len(well):.1%} |" for d in ("easy", "moderate", "hard")
    ]
    out.append(README_PROBLEMS)
    out.append("### Malformed lines\n\n| line | problem |\n|---|---|")
    out += [f"| {m['line']} | {m['problem']} |" for m in facts["malformed"]]
    out.append("\n### Exact duplicates (15)\n\n| line | duplicate of line | how |\n|---|---|---|")
    out += [
        f"| {d['line']} | {d['copy_of']} | "
        f"{'identical content' if d['kind'] == 'exact' else 'differs only by case / whitespace'} |"
        for d in facts["exact"]
    ]
    out.append(
        "\n### Near duplicates (15): 1-5 words of the longest reply edited\n\n"
        "| line | near duplicate of line | words changed | Jaccard (word 5-grams, prompt + response) |"
        "\n|---|---|---|---|"
    )
    out += [
        f"| {d['line']} | {d['copy_of']} | {d['words_changed']} | {d['jaccard']} |" for d in facts["near"]
    ]
    out.append("\n### Other planted things\n")
    out.append(f"- Negative examples (only {len(facts['negatives'])}): lines {_join(facts['negatives'])}.")
    out.append(f"- One-line examples: lines {_join(facts['one_liners'])}.")
    out.append(
        "- Very long examples (two pasted router logs, a 56-message e-mail thread, a 70-step guide), "
        "about 4,800 to 8,100 tokens each (o200k_base): over the 4,096-token limit of gpt-3.5-turbo-0613 (the repository "
        "stays small, so none is over the 65,536 of gpt-4.1 / gpt-4o): "
        + ", ".join(f"line {d['line']} ({d['chars']:,} characters)" for d in facts["long"])
        + "."
    )
    out.append(f"- Spanish, German and French examples: lines {_join(facts['foreign'])}.")
    out.append(f"- Valid tool-call examples (`lookup_order`): lines {_join(facts['tools'])}.")
    out.append(f"- Multi-turn examples: {facts['multi_turn']} rows have two or more user turns.")
    out.append(
        f"- Multi-paragraph prompts (3 paragraphs, besides the long ones): {facts['multi_paragraph']} rows."
    )
    out.append("- About 6% of rows have no system prompt or a different, shorter one; the rest share one.")
    out.append("- `planted.json` holds these facts in machine-readable form (line numbers, pairs, codes).")
    kinds = ("covered", "installation", "trade_in", "long", "foreign")
    out.append(README_PRODUCTION.format(n=n_production, **{k: production.get(k, 0) for k in kinds}))
    out.append(_eval_section(eval_kinds))
    return "\n".join(out) + "\n"


def _eval_section(kinds: dict[str, list[int]]) -> str:
    lines = [
        README_EVAL,
        "| category | rows | fine-tuned correct | base correct | planted as |",
        "|---|---|---|---|---|",
    ]
    for category, count in EVAL_COUNTS.items():
        ft, base, label = EVAL_ERRORS[category]
        if ft > base:
            note = "base model better"
        elif ft == base:
            note = "no change: fine-tuning was premature"
        else:
            note = "fine-tuning helped"
        lines.append(
            f"| {category} | {count} | {count - ft} | {count - base} | {note} (errors -> `{label}`) |"
        )
    foreign, long = kinds["foreign"], kinds["long"]
    lines.append(
        f"\nThe inputs include {foreign[0]} Spanish, German and French messages, of which the fine-tuned model gets "
        f"{foreign[1]} wrong (the base model none: fine-tuning on English data hurt the other languages), and "
        f"{long[0]} long messages (80+ words), of which the fine-tuned model gets {long[1]} wrong."
    )
    return "\n".join(lines)


def _join(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


README_HEAD = """# Sample data

Generated by `python sample_data/make_samples.py` (seeded: the same bytes every time; standard library and
numpy only). Everything below is planted on purpose so that each page of Trainset Studio has something to
find; the line numbers are 1-based lines of the file. Tests in `tests/core/test_sample_data.py` check that
every fact listed here is true.

## support_sft.jsonl

A customer-support fine-tuning set of {company}, a fictional online electronics retailer, in the OpenAI
SFT chat format: {n_lines} lines, {n_valid} of them well-formed. Each row has a system prompt (the same one
on most rows), a user message and an assistant reply, some multi-turn, and the top-level metadata keys
`category`, `difficulty`, `source` (`"real"`) and `created_at` (ISO 8601, June to September 2026).

Rows per category (well-formed rows):
"""

README_PROBLEMS = """
## Planted problems in support_sft.jsonl
"""

README_PRODUCTION = """
## production_inputs.txt

{n} production user messages, one per line (plain text), in shuffled order:

- {covered} like the training prompts (same topics, other order numbers and products);
- {installation} about installation appointments and technician visits, and {trade_in} about the trade-in
  program: topics the training set never covers, so drift and coverage must list them;
- {long} long inputs (a whole story in one message, 130+ words; one line each, so no line breaks);
- {foreign} Spanish, German and French inputs (a bigger non-English share than in training).
"""

README_EVAL = """
## eval_results.csv and eval_results_base.csv

A category-classification eval (predict the category of a support message) on 200 messages, with columns
`id, input, expected, predicted, category`: `eval_results.csv` for the fine-tuned model,
`eval_results_base.csv` for a well-prompted base model (same ids and inputs). The fine-tuned model fails
mostly on `warranty` (confused with `returns`) and `gift_cards` (confused with `billing`); the base model is
worse on `shipping`, `order_status`, `technical_support` and `account`, better on `product_info`, and as good
on `billing`, `warranty` and `gift_cards`. Try it:
`python -m core evalreport sample_data/eval_results.csv --baseline sample_data/eval_results_base.csv --json`,
or open the Eval loop page, which loads these two files as its bundled sample.
"""


def main(argv: list[str] | None = None) -> int:
    """Write every sample file into ``--out`` (default: this folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    lines, facts = build_sft(np.random.default_rng(SEED))
    (out / "support_sft.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    production, production_kinds = build_production(np.random.default_rng(SEED + 1))
    (out / "production_inputs.txt").write_text("\n".join(production) + "\n", encoding="utf-8")
    fine, base, eval_kinds = build_eval(np.random.default_rng(SEED + 2))
    (out / "eval_results.csv").write_text(_csv(fine), encoding="utf-8")
    (out / "eval_results_base.csv").write_text(_csv(base), encoding="utf-8")
    (out / "README.md").write_text(
        _readme(facts, lines, production_kinds, len(production), eval_kinds), encoding="utf-8"
    )
    (out / "planted.json").write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    # The annotations are keyed by the examples' content ids: redraw them whenever the set changes.
    subprocess.run([sys.executable, str(Path(__file__).with_name("make_annotations.py"))], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
