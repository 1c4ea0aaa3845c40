"""The WebSocket chat: rooms that connections join, leave and say things in (see spec/asyncapi.yaml).

Messages travel over the event bus as ``chat.message`` events, so every connection in a room receives them,
whichever worker it is connected to. Every frame is validated with the models generated from the AsyncAPI document.
"""
