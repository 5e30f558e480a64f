//! Every action of the mixer: a stable snake_case name (used in keymap files), a one-line description and a
//! help group. Defined once in the `actions!` table below; the help screen and the README key table are generated
//! from it.

use std::fmt;
use std::str::FromStr;

/// A heading of the help screen; actions are listed under their group, groups in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Play, stop, seek.
    Transport,
    /// Loop range and markers.
    LoopMarkers,
    /// Which strip is selected.
    Selection,
    /// Fader level of the selected strip.
    Fader,
    /// Pan of the selected strip.
    Pan,
    /// Mute, solo, polarity.
    Strip,
    /// The parameter inspector of the selected strip.
    Inspector,
    /// Listening aids that never reach a render.
    Monitor,
    /// What the screen shows.
    View,
    /// Typing values, undo, cancel.
    Edit,
    /// Save and quit.
    Session,
}

impl Group {
    /// All groups in help-screen order.
    pub const ALL: [Group; 11] = [
        Group::Transport,
        Group::LoopMarkers,
        Group::Selection,
        Group::Fader,
        Group::Pan,
        Group::Strip,
        Group::Inspector,
        Group::Monitor,
        Group::View,
        Group::Edit,
        Group::Session,
    ];

    /// The heading shown on the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Group::Transport => "Transport",
            Group::LoopMarkers => "Loop & markers",
            Group::Selection => "Selection",
            Group::Fader => "Fader",
            Group::Pan => "Pan",
            Group::Strip => "Strip",
            Group::Inspector => "Inspector",
            Group::Monitor => "Monitor",
            Group::View => "View",
            Group::Edit => "Edit",
            Group::Session => "Session",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

macro_rules! actions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $group:ident, $desc:literal; )*) => {
        /// A command of the mixer that a key can be bound to.
        ///
        /// `Display` prints the one-line description; [`Action::name`] is the name used in keymap files.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $(#[$doc])* $variant, )*
        }

        impl Action {
            /// Every action, in help-screen order (grouped by [`Group`]).
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )* ];

            /// The stable snake_case name used in keymap files.
            pub fn name(self) -> &'static str {
                match self { $( Action::$variant => $name, )* }
            }

            /// One-line description for the help screen.
            pub fn description(self) -> &'static str {
                match self { $( Action::$variant => $desc, )* }
            }

            /// The help-screen group.
            pub fn group(self) -> Group {
                match self { $( Action::$variant => Group::$group, )* }
            }

            /// The action with this keymap name, if any.
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $( $name => Some(Action::$variant), )* _ => None }
            }
        }
    };
}

actions! {
    /// Toggle playback.
    PlayPause = "play_pause", Transport, "Play or pause";
    /// Stop and return the playhead to where playback last started.
    Stop = "stop", Transport, "Stop and return to where playback started";
    /// Move the playhead 5 seconds earlier.
    SeekBack = "seek_back", Transport, "Seek back 5 seconds";
    /// Move the playhead 5 seconds later.
    SeekForward = "seek_forward", Transport, "Seek forward 5 seconds";
    /// Move the playhead one bar earlier.
    SeekBackBar = "seek_back_bar", Transport, "Seek back one bar";
    /// Move the playhead one bar later.
    SeekForwardBar = "seek_forward_bar", Transport, "Seek forward one bar";
    /// Move the playhead to the start of the session.
    GoToStart = "go_to_start", Transport, "Go to the start";
    /// Move the playhead to the end of the session.
    GoToEnd = "go_to_end", Transport, "Go to the end";

    /// Turn looping on or off.
    LoopToggle = "loop_toggle", LoopMarkers, "Turn the loop on or off";
    /// Set the loop start at the playhead.
    LoopSetIn = "loop_set_in", LoopMarkers, "Set the loop start at the playhead";
    /// Set the loop end at the playhead.
    LoopSetOut = "loop_set_out", LoopMarkers, "Set the loop end at the playhead";
    /// Add a marker at the playhead.
    MarkerAdd = "marker_add", LoopMarkers, "Add a marker at the playhead";
    /// Jump to the next marker.
    MarkerNext = "marker_next", LoopMarkers, "Jump to the next marker";
    /// Jump to the previous marker.
    MarkerPrev = "marker_prev", LoopMarkers, "Jump to the previous marker";
    /// Type a name for the marker at or before the playhead.
    MarkerName = "marker_name", LoopMarkers, "Name the marker at or before the playhead";
    /// Delete the marker at or before the playhead.
    MarkerDelete = "marker_delete", LoopMarkers, "Delete the marker at or before the playhead";

    /// Select the strip to the left.
    SelectPrev = "select_prev", Selection, "Select the previous strip";
    /// Select the strip to the right.
    SelectNext = "select_next", Selection, "Select the next strip";
    /// Select the first strip.
    SelectFirst = "select_first", Selection, "Select the first strip";
    /// Select the last strip.
    SelectLast = "select_last", Selection, "Select the last strip";

    /// Fader +1 dB.
    FaderUp = "fader_up", Fader, "Raise the fader 1 dB";
    /// Fader -1 dB.
    FaderDown = "fader_down", Fader, "Lower the fader 1 dB";
    /// Fader +0.1 dB.
    FaderUpFine = "fader_up_fine", Fader, "Raise the fader 0.1 dB";
    /// Fader -0.1 dB.
    FaderDownFine = "fader_down_fine", Fader, "Lower the fader 0.1 dB";
    /// Fader +6 dB.
    FaderUpCoarse = "fader_up_coarse", Fader, "Raise the fader 6 dB";
    /// Fader -6 dB.
    FaderDownCoarse = "fader_down_coarse", Fader, "Lower the fader 6 dB";
    /// Fader to 0 dB.
    FaderUnity = "fader_unity", Fader, "Set the fader to 0 dB";

    /// Pan one step to the left.
    PanLeft = "pan_left", Pan, "Pan left";
    /// Pan one step to the right.
    PanRight = "pan_right", Pan, "Pan right";
    /// Pan one small step to the left.
    PanLeftFine = "pan_left_fine", Pan, "Pan left a little";
    /// Pan one small step to the right.
    PanRightFine = "pan_right_fine", Pan, "Pan right a little";
    /// Pan to the centre.
    PanCenter = "pan_center", Pan, "Pan to the centre";

    /// Toggle mute of the selected strip.
    Mute = "mute", Strip, "Mute or unmute the selected strip";
    /// Toggle solo of the selected strip.
    Solo = "solo", Strip, "Solo or unsolo the selected strip";
    /// Remove every solo.
    ClearSolos = "clear_solos", Strip, "Clear all solos";
    /// Toggle polarity inversion of the selected strip.
    Polarity = "polarity", Strip, "Invert the polarity of the selected strip";

    /// Show or hide (and focus) the inspector of the selected strip.
    ToggleInspector = "toggle_inspector", Inspector, "Show or hide the inspector";
    /// Move to the next parameter in the inspector.
    ParamNext = "param_next", Inspector, "Go to the next parameter";
    /// Move to the previous parameter in the inspector.
    ParamPrev = "param_prev", Inspector, "Go to the previous parameter";
    /// Increase the current parameter one step.
    ParamIncrease = "param_increase", Inspector, "Increase the parameter";
    /// Decrease the current parameter one step.
    ParamDecrease = "param_decrease", Inspector, "Decrease the parameter";
    /// Increase the current parameter one fine step.
    ParamIncreaseFine = "param_increase_fine", Inspector, "Increase the parameter a little";
    /// Decrease the current parameter one fine step.
    ParamDecreaseFine = "param_decrease_fine", Inspector, "Decrease the parameter a little";
    /// Increase the current parameter one coarse step.
    ParamIncreaseCoarse = "param_increase_coarse", Inspector, "Increase the parameter a lot";
    /// Decrease the current parameter one coarse step.
    ParamDecreaseCoarse = "param_decrease_coarse", Inspector, "Decrease the parameter a lot";
    /// Reset the current parameter to its default.
    ParamReset = "param_reset", Inspector, "Reset the parameter to its default";

    /// Listen to the mix summed to mono (monitor path only).
    MonoCheck = "mono_check", Monitor, "Listen in mono (monitor only)";
    /// Dim the monitor output (monitor path only).
    Dim = "dim", Monitor, "Dim the monitor output (monitor only)";
    /// Switch between the mix and the reference tracks (A/B).
    CycleReference = "cycle_reference", Monitor, "Switch between the mix and the references (A/B)";

    /// Show or hide the help screen.
    Help = "help", View, "Show or hide the help screen";
    /// Switch the meters to the next mode.
    ToggleMeterMode = "toggle_meter_mode", View, "Switch the meter mode";
    /// Write the current levels as a plain-text line.
    PeekNumbers = "peek_numbers", View, "Write the levels as a line of plain text";

    /// Type a value for the selected fader or parameter.
    TypeValue = "type_value", Edit, "Type a value for the fader or parameter";
    /// Undo the last change.
    Undo = "undo", Edit, "Undo";
    /// Redo the last undone change.
    Redo = "redo", Edit, "Redo";
    /// Close a prompt or pop-up; abandon a half-typed key sequence.
    Cancel = "cancel", Edit, "Cancel: close a prompt or pop-up";

    /// Save the session.
    Save = "save", Session, "Save the session";
    /// Try the audio device again (after it was lost, or when ttymix started without one).
    Reconnect = "reconnect", Session, "Reconnect the audio output";
    /// Quit ttymix.
    Quit = "quit", Session, "Quit";
}

impl Action {
    /// Iterate over every action in help-screen order.
    pub fn iter() -> impl Iterator<Item = Action> {
        Action::ALL.iter().copied()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Error of [`Action::from_str`]: the name is not an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action \"{0}\"")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::from_name(s).ok_or_else(|| UnknownAction(s.to_string()))
    }
}
