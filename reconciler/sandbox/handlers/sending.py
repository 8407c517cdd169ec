"""SendTextMessage, SendVoiceMessage, SendMediaMessage: every check AWS makes before a message leaves.

Order of checks (the first failure is returned; nothing is recorded on failure):

1. The destination is a valid E.164 number; its country comes from libphonenumber.
2. The configuration set and ``ProtectConfigurationId``, if given, exist in the caller's account.
3. The origination identity, if given, is the caller's (id, ARN, number or sender ID) or another
   account's shared with the caller, addressed by full ARN; a shared pool works only if all its
   members are in the same share (``sharing.usable_by``). Otherwise ResourceNotFoundException.
   A shared identity needs a grant of this send's action: a STANDARD RAM share grants every
   send; a resource policy only the actions it lists (``sharing.authorize``):
   AccessDeniedException otherwise.
   Without one, an own identity that can reach the destination is used, else a shared route.
4. The identity has the capability (SMS / VOICE / MMS): ConflictException NUMBER_CAPABILITIES_MISMATCH.
5. The identity can reach the destination country: a number sends in its own country, a US
   toll-free number also to the US territories, and with ``InternationalSendingEnabled`` to any
   country AWS's table does not mark "No" (``reconciler.countries``; Canada included); a sender ID
   only in its country; a pool if any member can. Otherwise ValidationException
   INVALID_IDENTITY_FOR_DESTINATION_COUNTRY.
6. Protect rules: the message's protect configuration, else the configuration set's, else the
   account default. A live BLOCK number override refuses (DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE);
   a live ALLOW override lets a blocked country through; otherwise a BLOCK country status refuses
   with ConflictException DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION (ResourceType
   ``protect-configuration``, ResourceId the configuration id). MONITOR and FILTER send (the
   sandbox has no fraud model to filter with).
7. Opt-outs: the destination on the opt-out list that governs the identity (its pool's, its own,
   or the owner's Default) fails with ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT — even
   with an ALLOW override.

Accepted messages (not ``DryRun`` ones) are recorded in the caller's ``RegionState.sent_messages``.
"""

from __future__ import annotations

from typing import Any

from reconciler import countries
from reconciler.sandbox import ids, sharing
from reconciler.sandbox.errors import conflict, validation_error
from reconciler.sandbox.handlers.opt_outs import opt_out_list_of
from reconciler.sandbox.handlers.protect import live_override, status_for
from reconciler.sandbox.ids import OPTED_OUT_NUMBER, PHONE_NUMBER, POOL, PROTECT_CONFIGURATION, SENDER_ID
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import (
    destination_country,
    find_configuration_set,
    find_origination_identity,
    find_protect_configuration,
)
from reconciler.sandbox.state import (
    PhoneNumber,
    Pool,
    ProtectConfiguration,
    RegionState,
    SenderId,
    SentMessage,
)

Identity = PhoneNumber | SenderId | Pool
SEND_ACTIONS = {"SMS": "sms-voice:SendTextMessage", "VOICE": "sms-voice:SendVoiceMessage",
                "MMS": "sms-voice:SendMediaMessage"}


def number_reaches(number: PhoneNumber, country: str) -> bool:
    if number.iso_country_code == country:
        return True
    if number.iso_country_code == "US" and number.number_type == "TOLL_FREE":
        return countries.us_toll_free_reaches(country, number.international_sending_enabled)
    return False


def _capabilities(identity: PhoneNumber | SenderId) -> list[str]:
    return list(identity.number_capabilities) if isinstance(identity, PhoneNumber) else ["SMS"]


def _can_send(identity: PhoneNumber | SenderId, capability: str, country: str) -> bool:
    if capability not in _capabilities(identity):
        return False
    if isinstance(identity, PhoneNumber):
        return number_reaches(identity, country)
    return identity.iso_country_code == country


def _members(owner: RegionState, pool: Pool) -> list[PhoneNumber | SenderId]:
    found: list[PhoneNumber | SenderId] = []
    for member in pool.members:
        parsed = ids.parse_arn(member)
        if parsed is None:
            continue
        record = (owner.phone_numbers if parsed.resource_type == PHONE_NUMBER else owner.sender_ids).get(parsed.resource_id)
        if record is not None:
            found.append(record)
    return found


def _check_identity(owner: RegionState, identity: Identity, capability: str, country: str) -> None:
    if isinstance(identity, Pool):
        members = _members(owner, identity)
        if not any(capability in _capabilities(m) for m in members):
            raise conflict("NUMBER_CAPABILITIES_MISMATCH", POOL, identity.pool_id)
        if not any(_can_send(m, capability, country) for m in members):
            raise _unreachable(country)
        return
    kind = PHONE_NUMBER if isinstance(identity, PhoneNumber) else SENDER_ID
    if capability not in _capabilities(identity):
        resource_id = identity.phone_number_id if isinstance(identity, PhoneNumber) else identity.sender_id
        raise conflict("NUMBER_CAPABILITIES_MISMATCH", kind, resource_id)
    if not _can_send(identity, capability, country):
        raise _unreachable(country)


def _unreachable(country: str) -> Exception:
    return validation_error(
        f"The origination identity cannot send to {country}.",
        "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY",
        [{"Name": "OriginationIdentity", "Message": f"Not able to send to {country}."}],
    )


def _auto_identity(state: RegionState, capability: str, country: str) -> PhoneNumber | SenderId | None:
    """An own identity able to send, as AWS picks one when none is given (None: shared route)."""
    candidates: list[PhoneNumber | SenderId] = [
        *sorted(state.phone_numbers.values(), key=lambda n: n.phone_number_id),
        *sorted(state.sender_ids.values(), key=lambda s: s.arn),
    ]
    return next((c for c in candidates if _can_send(c, capability, country)), None)


def _protect_configuration(call: Call, config_set: Any) -> ProtectConfiguration | None:
    state = call.state
    if call.params.get("ProtectConfigurationId"):
        return find_protect_configuration(call.world, state, call.params["ProtectConfigurationId"])[1]
    config_id = config_set.protect_configuration_id if config_set is not None else None
    config_id = config_id or state.account_default_protect_configuration_id
    return state.protect_configurations.get(config_id) if config_id else None


def _check_protect(config: ProtectConfiguration, capability: str, destination: str, country: str, now: float) -> None:
    override = live_override(config, destination, now)
    if override is not None and override.action == "BLOCK":
        raise conflict(
            "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE",
            PROTECT_CONFIGURATION,
            config.protect_configuration_id,
        )
    if override is not None and override.action == "ALLOW":
        return
    if status_for(config, capability, country) == "BLOCK":
        raise conflict(
            "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
            PROTECT_CONFIGURATION,
            config.protect_configuration_id,
        )


def send(call: Call, capability: str) -> dict[str, Any]:
    params = call.params
    state = call.state
    now = call.now()
    destination = params["DestinationPhoneNumber"]
    country = destination_country(destination)
    config_set = None
    if params.get("ConfigurationSetName"):
        config_set = find_configuration_set(call.world, state, params["ConfigurationSetName"])[1]
    protect = _protect_configuration(call, config_set)

    owner: RegionState = state
    identity: Identity | None
    if params.get("OriginationIdentity"):
        owner, identity = find_origination_identity(
            call.world, state, params["OriginationIdentity"], country, allow_shared=True, allow_pool=True
        )
        # A shared identity: the grant must allow this very send (a resource policy may allow less).
        sharing.authorize(call.world, call.account, owner, identity.arn, SEND_ACTIONS[capability])
        _check_identity(owner, identity, capability, country)
    else:
        identity = _auto_identity(state, capability, country)

    if protect is not None:
        _check_protect(protect, capability, destination, country, now)

    opt_out_list = opt_out_list_of(owner, identity, now)
    if opt_out_list is not None and destination in opt_out_list.entries:
        raise conflict("DESTINATION_PHONE_NUMBER_OPTED_OUT", OPTED_OUT_NUMBER, destination)

    message_id = ids.new_message_id()
    if not params.get("DryRun"):
        state.sent_messages.append(
            SentMessage(
                message_id=message_id,
                destination=destination,
                origination_identity=identity.arn if identity is not None else None,
                body=params.get("MessageBody") or "",
                protect_configuration_id=protect.protect_configuration_id if protect is not None else None,
                configuration_set_name=config_set.name if config_set is not None else None,
                sent_at=now,
            )
        )
    return {"MessageId": message_id}


@operation(SMS_VOICE, "SendTextMessage")
def send_text_message(call: Call) -> dict[str, Any]:
    return send(call, "SMS")


@operation(SMS_VOICE, "SendVoiceMessage")
def send_voice_message(call: Call) -> dict[str, Any]:
    return send(call, "VOICE")


@operation(SMS_VOICE, "SendMediaMessage")
def send_media_message(call: Call) -> dict[str, Any]:
    return send(call, "MMS")
