"""berth-bench's Python consumer: CONCURRENCY asyncio tasks on one azure-servicebus client, each
accepting the next available session of SB_QUEUE, receiving batches of up to 100 messages,
completing each, and leaving the session after IDLE_MS without a message; stops once TOTAL
messages are completed. Prints {"messages", "elapsed_s", "cpu_s"} for the consuming alone."""
import asyncio
import json
import os
import time

from azure.servicebus import NEXT_AVAILABLE_SESSION
from azure.servicebus.aio import ServiceBusClient
from azure.servicebus.exceptions import OperationTimeoutError, SessionCannotBeLockedError

queue = os.environ["SB_QUEUE"]
total = int(os.environ["TOTAL"])
concurrency = int(os.environ["CONCURRENCY"])
idle = int(os.environ["IDLE_MS"]) / 1000.0

completed = 0
finished = asyncio.Event()


async def consume(client):
    global completed
    while completed < total:
        try:
            # Waiting for a session may take up to 10 s (as the JS consumer's accept); the
            # idle time applies to the receives.
            receiver = client.get_queue_receiver(
                queue, session_id=NEXT_AVAILABLE_SESSION, max_wait_time=10
            )
            async with receiver:
                while True:
                    batch = await receiver.receive_messages(max_message_count=100, max_wait_time=idle)
                    if not batch:
                        break
                    for message in batch:
                        await receiver.complete_message(message)
                    completed += len(batch)
                    if completed >= total:
                        finished.set()
        except (OperationTimeoutError, SessionCannotBeLockedError):
            continue


async def main():
    async with ServiceBusClient.from_connection_string(os.environ["SB_CONNECTION_STRING"]) as client:
        started, cpu = time.perf_counter(), time.process_time()
        tasks = [asyncio.create_task(consume(client)) for _ in range(concurrency)]
        waiter = asyncio.create_task(finished.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        for task in tasks:
            task.cancel()
        for task in done:
            if task is not waiter and task.exception():
                raise task.exception()
    print(json.dumps({"messages": completed, "elapsed_s": elapsed, "cpu_s": cpu}), flush=True)


asyncio.run(main())
