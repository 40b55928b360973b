"""Remote functions written with the Statefun Python SDK, served over HTTP for Eddy's tests.

Run: python3 functions.py [port]  -> listens on 127.0.0.1 on `port` (default: a free one) and
prints `PORT <n>`.

example/greeter  counts visits per user (state `seen`), greets through the Kafka egress
                 `example/greetings` (topic `greetings`), schedules a reminder on the first
                 visit and cancels it on the second.
shop/inventory   keeps the stock of one item (state `stock`); answers reservations to the caller.
shop/cart        keeps one user's basket (state `basket`); asks the inventory to reserve stock,
                 reports each reservation on `shop/receipts` (topic `receipts`) and the basket on
                 checkout (topic `orders`), then clears it.
example/person   the playground's greeter: takes an `example/GreetRequest` ({"name": ...}) from
                 the playground ingress, counts visits (state `visits`) and greets through the
                 playground egress (topic `greetings`); answers its caller, if it has one
                 (an HTTP request waiting for the reply), with an `example/Greeting`.
example/forgetful on "count" counts in a state that expires 3 s after its last write
                 (`recent`) and in one that expires 3 s after the last call (`active`); any
                 other message only reads them. Answers its caller with both counts.
example/alarm    on "set <ms>" sends itself "ring" that many ms later (a delayed message; a
                 second "set" replaces the first, by cancellation token); on "ring" writes
                 "ring <id>" to the playground egress topic `alarms`.
bench/counter    counts the messages of each id (state `count`, a long) and does nothing else:
                 the functions bench's counter, served by the SDK.
"""

import asyncio
import sys
from datetime import timedelta

from aiohttp import web
from statefun import (IntType, LongType, RequestReplyHandler, StatefulFunctions, ValueSpec, egress_message_builder,
                      kafka_egress_message, make_json_type, message_builder)

functions = StatefulFunctions()

ADD_TO_CART = make_json_type("shop/AddToCart")
CHECKOUT = make_json_type("shop/Checkout")
RESTOCK = make_json_type("shop/Restock")
RESERVE = make_json_type("shop/Reserve")
RESERVATION = make_json_type("shop/Reservation")
BASKET = make_json_type("shop/Basket")


@functions.bind(typename="example/greeter", specs=[ValueSpec(name="seen", type=IntType)])
async def greeter(context, message):
    name = message.as_string()
    seen = (context.storage.seen or 0) + 1
    context.storage.seen = seen
    context.send_egress(kafka_egress_message(typename="example/greetings", topic="greetings",
                                             key=context.address.id,
                                             value=f"Hello {name}, visit number {seen}"))
    token = f"remind-{context.address.id}"
    if seen == 1:
        reminder = message_builder(target_typename="example/greeter", target_id=context.address.id,
                                   str_value="come back")
        context.send_after(timedelta(hours=1), reminder, cancellation_token=token)
    elif seen == 2:
        context.cancel_delayed_message(token)


@functions.bind(typename="shop/inventory", specs=[ValueSpec(name="stock", type=IntType)])
def inventory(context, message):
    stock = context.storage.stock or 0
    if message.is_type(RESTOCK):
        context.storage.stock = stock + message.as_type(RESTOCK)["quantity"]
        return
    wanted = message.as_type(RESERVE)["quantity"]
    if stock >= wanted:
        context.storage.stock = stock - wanted
        status = "IN_STOCK"
    else:
        status = "OUT_OF_STOCK"
    reply = {"item": context.address.id, "quantity": wanted, "status": status}
    context.send(message_builder(target_typename=context.caller.typename, target_id=context.caller.id,
                                 value=reply, value_type=RESERVATION))


@functions.bind(typename="shop/cart", specs=[ValueSpec(name="basket", type=BASKET)])
def cart(context, message):
    user = context.address.id
    if message.is_type(ADD_TO_CART):
        request = message.as_type(ADD_TO_CART)
        context.send(message_builder(target_typename="shop/inventory", target_id=request["item"],
                                     value={"quantity": request["quantity"]}, value_type=RESERVE))
    elif message.is_type(RESERVATION):
        reservation = message.as_type(RESERVATION)
        if reservation["status"] == "IN_STOCK":
            basket = context.storage.basket or {}
            basket[reservation["item"]] = basket.get(reservation["item"], 0) + reservation["quantity"]
            context.storage.basket = basket
        receipt = f'{user} {reservation["item"]} x{reservation["quantity"]} {reservation["status"]}'
        context.send_egress(kafka_egress_message(typename="shop/receipts", topic="receipts", key=user,
                                                 value=receipt))
    elif message.is_type(CHECKOUT):
        basket = context.storage.basket or {}
        order = ",".join(f"{item}={n}" for item, n in sorted(basket.items()))
        context.send_egress(kafka_egress_message(typename="shop/receipts", topic="orders", key=user,
                                                 value=order))
        del context.storage.basket
    else:
        raise ValueError(f"unexpected message type {message.value_typename()}")


GREET_REQUEST = make_json_type("example/GreetRequest")
EGRESS_RECORD = make_json_type("io.statefun.playground/EgressRecord")
GREETING = make_json_type("example/Greeting")


@functions.bind(typename="example/person", specs=[ValueSpec(name="visits", type=IntType)])
def person(context, message):
    request = message.as_type(GREET_REQUEST)
    visits = (context.storage.visits or 0) + 1
    context.storage.visits = visits
    greeting = f"Hello {request['name']}, visit number {visits}"
    context.send_egress(egress_message_builder(target_typename="io.statefun.playground/egress",
                                               value={"topic": "greetings", "payload": greeting},
                                               value_type=EGRESS_RECORD))
    if context.caller:
        context.send(message_builder(target_typename=context.caller.typename, target_id=context.caller.id,
                                     value={"greeting": greeting, "visits": visits}, value_type=GREETING))


COUNTS = make_json_type("example/Counts")


@functions.bind(typename="example/forgetful",
                specs=[ValueSpec(name="recent", type=IntType, expire_after_write=timedelta(seconds=3)),
                       ValueSpec(name="active", type=IntType, expire_after_call=timedelta(seconds=3))])
def forgetful(context, message):
    if message.as_string() == "count":
        context.storage.recent = (context.storage.recent or 0) + 1
        context.storage.active = (context.storage.active or 0) + 1
    context.send(message_builder(target_typename=context.caller.typename, target_id=context.caller.id,
                                 value={"recent": context.storage.recent or 0, "active": context.storage.active or 0},
                                 value_type=COUNTS))


@functions.bind(typename="example/alarm")
def alarm(context, message):
    text = message.as_string()
    if text.startswith("set "):
        token = f"alarm-{context.address.id}"
        context.cancel_delayed_message(token)
        ring = message_builder(target_typename="example/alarm", target_id=context.address.id, str_value="ring")
        context.send_after(timedelta(milliseconds=int(text[4:])), ring, cancellation_token=token)
    elif text == "ring":
        context.send_egress(egress_message_builder(target_typename="io.statefun.playground/egress",
                                                   value={"topic": "alarms", "payload": f"ring {context.address.id}"},
                                                   value_type=EGRESS_RECORD))


@functions.bind(typename="bench/counter", specs=[ValueSpec(name="count", type=LongType)])
def counter(context, message):
    context.storage.count = (context.storage.count or 0) + 1


handler = RequestReplyHandler(functions)


async def handle(request):
    reply = await handler.handle_async(await request.read())
    return web.Response(body=reply, content_type="application/octet-stream")


async def main():
    app = web.Application()
    app.add_routes([web.post("/{function}", handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
