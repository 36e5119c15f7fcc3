//! Round trips of every record kind through frames.

use super::*;
    use crate::store::segment::{frame, Frames};
    use std::time::Duration;

    #[test]
    fn records_round_trip_through_frames() {
        let options = EntityOptions {
            requires_session: true,
            lock_duration: Duration::from_millis(1500),
            requires_duplicate_detection: true,
            forward_to: Some("next".into()),
            forward_dead_lettered_messages_to: Some("dead".into()),
            status: EntityStatus::Disabled,
            auto_delete_on_idle: Duration::from_secs(600),
            ..EntityOptions::default()
        };
        let records = vec![
            Record::CreateQueue {
                id: 1,
                name: "q",
                options: options.clone(),
            },
            Record::CreateTopic {
                id: 2,
                name: "t",
                options: TopicOptions {
                    requires_duplicate_detection: true,
                    status: EntityStatus::SendDisabled,
                    ..TopicOptions::default()
                },
            },
            Record::CreateSubscription {
                id: 3,
                topic: 2,
                name: "s",
                options,
            },
            Record::Enqueue {
                source: 2,
                targets: Cow::Owned(vec![3, 4]),
                seq: 9,
                enqueued_ms: 1_700_000_000_000,
                ttl_ms: Some(5),
                scheduled_ms: None,
                session: Some("sess"),
                body: b"body",
            },
            Record::Remove {
                entity: 3,
                sub: Sub::DeadLetter,
                seq: 9,
            },
            Record::DeadLetter {
                entity: 1,
                seq: 2,
                reason: Some("r"),
                description: None,
                body: Some(b"x"),
            },
            Record::Defer {
                entity: 1,
                sub: Sub::Main,
                seq: 3,
                body: None,
            },
            Record::ReplaceBody {
                entity: 1,
                sub: Sub::TransferDeadLetter,
                seq: 4,
                body: b"",
            },
            Record::SessionState {
                entity: 1,
                session: "s",
                state: None,
                updated_ms: -1,
            },
            Record::NextSequence {
                entity: 2,
                next: 10,
            },
            Record::Seen {
                entity: 1,
                message_id: "order-1",
                at_ms: 1_700_000_000_000,
                seq: 4,
            },
            Record::SetStatus {
                entity: 1,
                status: EntityStatus::ReceiveDisabled,
            },
            Record::TransferDeadLetter {
                entity: 1,
                from: Sub::DeadLetter,
                seq: 5,
                reason: Some("MaxTransferHopCountExceeded"),
                description: None,
            },
            Record::ForwardedDeadLetter {
                entity: 1,
                seq: 6,
                reason: None,
                description: Some("d"),
                source: "q",
            },
            Record::Activate {
                entity: 1,
                seq: 3,
                new_seq: 12,
            },
            Record::EntityTimes {
                entity: 2,
                created_ms: 1,
                updated_ms: 2,
                accessed_ms: None,
            },
            Record::Rules {
                entity: 3,
                rules: b"\x01\0\0\0\0",
            },
            Record::DeleteEntity { id: 3 },
        ];
        let mut buf = Vec::new();
        for r in &records {
            frame(&mut buf, r);
        }
        let decoded: Vec<Record<'_>> = Frames::new(&buf)
            .map(|p| Record::decode(p).unwrap())
            .collect();
        assert_eq!(decoded, records);
        assert_eq!(
            Record::decode(&[99]),
            Err(DecodeError("unknown record tag"))
        );
        assert!(
            Record::decode(&buf[8..12]).is_err(),
            "a cut record does not decode"
        );
    }
